#!/bin/sh
# Installs what the tests, the benchmarks and the demo need on a Debian machine, when missing:
# Debian packages (iproute2 for namespaces and links, nftables for the emulated pf,
# iputils-ping for ICMP tests, util-linux for nsenter, conntrack for the emulated pfctl -k,
# strace for the test that jailnetd syncs its journal before it answers and for the attach
# benchmark's process counts, radvd for router advertisements to the emulated host,
# dnsmasq-base (the DNS server of the suites' "Internet", without the service the dnsmasq
# package starts) and bind9-dnsutils (dig, the resolver run inside the jails) for the DNS suites,
# Go and libcni's sources for the interop tests, containernetworking-plugins (host-local's
# side-by-side suite, the attach benchmark's baseline) and iptables for that baseline, etcd-server,
# etcd-client and openssl for the cluster suites, mandoc and make for the manual pages and the
# staged install), Node.js 20 when the machine's node is missing or too old, and the npm packages of
# package-lock.json.
set -eu
cd "$(dirname "$0")/.."

missing=""
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
command -v nft >/dev/null 2>&1 || missing="$missing nftables"
command -v ping >/dev/null 2>&1 || missing="$missing iputils-ping"
command -v nsenter >/dev/null 2>&1 || missing="$missing util-linux"
command -v conntrack >/dev/null 2>&1 || [ -x /usr/sbin/conntrack ] || missing="$missing conntrack"
[ -x /usr/sbin/sysctl ] || missing="$missing procps"
[ -x /usr/bin/strace ] || missing="$missing strace"
[ -x /usr/sbin/radvd ] || missing="$missing radvd"
[ -x /usr/sbin/dnsmasq ] || missing="$missing dnsmasq-base"
[ -x /usr/bin/dig ] || missing="$missing bind9-dnsutils"
# Cluster networks keep their state in etcd (v3 API); the cluster suites run a three-member
# cluster of Debian's etcd (3.4) with certificates made by openssl (test/helpers/etcd.ts).
[ -x /usr/bin/etcd ] || missing="$missing etcd-server"
[ -x /usr/bin/etcdctl ] || missing="$missing etcd-client"
[ -x /usr/bin/openssl ] || missing="$missing openssl"
# The manual pages are linted with mandoc (test/process/manual-pages.test.ts); the staged install
# is run through its Makefile, in a mount namespace (test/process/staged-install.test.ts).
command -v mandoc >/dev/null 2>&1 || missing="$missing mandoc"
command -v make >/dev/null 2>&1 || missing="$missing make"
command -v mount >/dev/null 2>&1 || missing="$missing mount"
# The interop tests build a small CNI runtime on libcni, the library containerd, nerdctl and
# podman use; Debian packages its sources.
command -v go >/dev/null 2>&1 || missing="$missing golang-go"
[ -d /usr/share/gocode/src/github.com/containernetworking/cni/libcni ] || missing="$missing golang-github-appc-cni-dev"
# The reference Go plugins: host-local run beside jailnet's on the same ADDs and DELs
# (test/ipam/integration/host-local-reference.test.ts), and the attach benchmark's baseline through
# the same libcni client on Linux namespaces; their portmap and bridge (ipMasq) run iptables
# (bench/lib/reference-chain.ts).
[ -x /usr/lib/cni/portmap ] && [ -x /usr/lib/cni/host-local ] || missing="$missing containernetworking-plugins"
[ -x /usr/sbin/iptables ] || missing="$missing iptables"
# apt_install WHY PACKAGE...: installs Debian packages as root, or stops saying what is missing.
apt_install() {
  why=$1
  shift
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages for $why: $* (run as root to install them)" >&2
    exit 1
  fi
  echo "install-deps: installing Debian packages: $* ($why)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Node.js 20.19 or newer (package.json engines). When the machine has none or an older one (Debian
# 12's nodejs is 18), install Node 20 from the npm registry (the node-linux-<arch> packages) into
# .tools/node, with Debian's npm to fetch it; scripts/node-env.sh puts .tools/node/bin first on PATH.
node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null
}
. scripts/node-env.sh
need_node=0
node_ok || need_node=1
[ "$need_node" -eq 0 ] || command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"

# shellcheck disable=SC2086
[ -z "$missing" ] || apt_install "the tests and the demo" $missing

if [ "$need_node" -eq 1 ]; then
  case "$(uname -m)" in
    x86_64 | amd64) node_arch=x64 ;;
    aarch64 | arm64) node_arch=arm64 ;;
    *) echo "install-deps: no Node.js 20 package for $(uname -m); install Node.js 20.19 or newer" >&2; exit 1 ;;
  esac
  echo "install-deps: installing Node.js 20 (node-linux-$node_arch@20 from the npm registry) into .tools/node"
  rm -rf .tools/node
  npm install -g --prefix "$PWD/.tools/node" --no-audit --no-fund --loglevel=error "node-linux-$node_arch@20"
  . scripts/node-env.sh
  if ! node_ok; then
    echo "install-deps: the Node.js installed into .tools/node does not run or is older than 20.19" >&2
    exit 1
  fi
fi

# The Node of .tools/node trusts only the CAs built into it, where Debian's trusts the machine's
# (/etc/ssl/certs, e.g. with a proxy's CA added): npm ci trusts the machine's CAs with it too.
if [ "$(command -v node)" = "$PWD/.tools/node/bin/node" ] && [ -z "${NODE_EXTRA_CA_CERTS:-}" ] &&
  [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
  export NODE_EXTRA_CA_CERTS
fi

# npm ci only when node_modules does not match the lock file.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.jailnet-lock-stamp 2>/dev/null; then
  # --ignore-scripts: the test and demo commands build right after (prepare would build twice).
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.jailnet-lock-stamp
fi
