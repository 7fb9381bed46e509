#!/bin/sh
# Installs what the tests and the demo need on a Debian machine, when missing:
# Debian packages (iproute2 for namespaces and links, nftables for the emulated pf,
# iputils-ping for ICMP tests, util-linux for nsenter, conntrack for the emulated pfctl -k,
# Go and libcni's sources for the interop
# tests) and the npm packages of package-lock.json.
set -eu
cd "$(dirname "$0")/.."

missing=""
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
command -v nft >/dev/null 2>&1 || missing="$missing nftables"
command -v ping >/dev/null 2>&1 || missing="$missing iputils-ping"
command -v nsenter >/dev/null 2>&1 || missing="$missing util-linux"
command -v conntrack >/dev/null 2>&1 || [ -x /usr/sbin/conntrack ] || missing="$missing conntrack"
[ -x /usr/sbin/sysctl ] || missing="$missing procps"
# The interop tests build a small CNI runtime on libcni, the library containerd, nerdctl and
# podman use; Debian packages its sources.
command -v go >/dev/null 2>&1 || missing="$missing golang-go"
[ -d /usr/share/gocode/src/github.com/containernetworking/cni/libcni ] || missing="$missing golang-github-appc-cni-dev"
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages:$missing (run as root to install them)" >&2
    exit 1
  fi
  echo "install-deps: installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if ! command -v node >/dev/null 2>&1; then
  echo "install-deps: Node.js 20 or newer is required (apt-get install nodejs npm)" >&2
  exit 1
fi

# npm ci only when node_modules does not match the lock file.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.jailnet-lock-stamp 2>/dev/null; then
  # --ignore-scripts: the test and demo commands build right after (prepare would build twice).
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.jailnet-lock-stamp
fi
