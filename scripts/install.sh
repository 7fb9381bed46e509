#!/bin/sh
# The staged install (docs/install.md): lays out what `npm run build` made, the rc.d script, the
# sample configuration, newsyslog's entry and the manual pages the hier(7) way under
# DESTDIR/PREFIX, and writes nothing anywhere else. It builds nothing: build first.
#
#   make install DESTDIR=/tmp/stage PREFIX=/usr/local        (the Makefile runs this script)
#   DESTDIR=/tmp/stage PREFIX=/usr/local NODE=/usr/local/bin/node sh scripts/install.sh
#
#   PREFIX/libexec/jailnet/      the shipped executables (bin/, cni/), each one whole (it loads
#                                no other file), built without the test switches
#   PREFIX/bin/jailnet           symbolic links into it
#   PREFIX/sbin/jailnetd
#   PREFIX/libexec/cni/PLUGIN    (every CNI plugin)
#   PREFIX/etc/rc.d/jailnetd
#   PREFIX/etc/jailnet/          jailnetd.json.sample, pf.conf.sample, networks/default.conflist.sample
#   PREFIX/etc/newsyslog.conf.d/jailnetd.conf
#   PREFIX/share/man/manN/       the pages of man/, gzipped
#
# The executables start with "#!NODE" (FreeBSD's node20 package: /usr/local/bin/node).
# Only POSIX sh and FreeBSD base tools (install, sed, gzip, ln, head, tail), so that a port's
# do-install can run it.
set -eu
cd "$(dirname "$0")/.."

# The built files that are installed: the one place to change if the installed build moves.
# dist/release/ is the build without the test switches (docs/security.md "Test switches").
BUILD_DIR=dist/release

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
NODE=${NODE:-/usr/local/bin/node}

fail() {
  echo "install: $*" >&2
  exit 1
}

# PREFIX and NODE are written into the rc.d script and the shebangs (with sed): absolute paths of
# plain characters only. DESTDIR is only ever quoted.
PREFIX=${PREFIX%/}
for pair in "PREFIX=$PREFIX" "NODE=$NODE"; do
  name=${pair%%=*}
  value=${pair#*=}
  case $value in
  /?*) ;;
  *) fail "$name must be an absolute path other than /, got \"$value\"" ;;
  esac
  case $value in
  *[!A-Za-z0-9._/+-]*) fail "$name may hold only letters, digits and . _ / + -, got \"$value\"" ;;
  esac
done
case $DESTDIR in
'' | /*) ;;
*) fail "DESTDIR must be empty or an absolute path, got \"$DESTDIR\"" ;;
esac

for f in bin/jailnet bin/jailnetd cni/bridge; do
  [ -f "$BUILD_DIR/$f" ] || fail "$BUILD_DIR/$f is missing: build first (npm ci && npm run build)"
done

root=$DESTDIR$PREFIX
tree=$root/libexec/jailnet

# executable FROM TO: the bundle with its "#!/usr/bin/env node" replaced by "#!NODE", mode 555.
executable() {
  first=$(head -n 1 "$1")
  [ "$first" = '#!/usr/bin/env node' ] || fail "$1 does not start with \"#!/usr/bin/env node\" (it starts with \"$first\")"
  rm -f "$2"
  {
    echo "#!$NODE"
    tail -n +2 "$1"
  } >"$2"
  chmod 0555 "$2"
}

# The built tree: executables of bin/ and cni/ (no source maps).
for sub in bin cni; do
  install -d -m 0755 "$tree/$sub"
  for f in "$BUILD_DIR/$sub"/*; do
    case $f in *.map) continue ;; esac
    executable "$f" "$tree/$sub/${f##*/}"
  done
done

install -d -m 0755 "$root/bin" "$root/sbin" "$root/libexec/cni"
ln -sf ../libexec/jailnet/bin/jailnet "$root/bin/jailnet"
ln -sf ../libexec/jailnet/bin/jailnetd "$root/sbin/jailnetd"
for f in "$tree/cni"/*; do
  ln -sf "../jailnet/cni/${f##*/}" "$root/libexec/cni/${f##*/}"
done

# The rc.d script names the daemon, node and the configuration directory under PREFIX.
install -d -m 0755 "$root/etc/rc.d"
rm -f "$root/etc/rc.d/jailnetd"
sed -e "s|/usr/local/sbin/jailnetd|$PREFIX/sbin/jailnetd|g" \
  -e "s|/usr/local/bin/node|$NODE|g" \
  -e "s|/usr/local/etc/|$PREFIX/etc/|g" conf/rc.d/jailnetd >"$root/etc/rc.d/jailnetd"
chmod 0555 "$root/etc/rc.d/jailnetd"

# Samples, as ports ship configuration: pkg copies X.sample to X unless X exists.
install -d -m 0755 "$root/etc/jailnet/networks" "$root/etc/newsyslog.conf.d"
install -m 0644 conf/jailnetd.json.example "$root/etc/jailnet/jailnetd.json.sample"
install -m 0644 conf/pf.conf "$root/etc/jailnet/pf.conf.sample"
install -m 0644 conf/networks/default.conflist "$root/etc/jailnet/networks/default.conflist.sample"
install -m 0644 conf/newsyslog/jailnetd.conf "$root/etc/newsyslog.conf.d/jailnetd.conf"

for page in man/*.[1-9]; do
  [ -f "$page" ] || fail "no manual pages in man/"
  section=${page##*.}
  install -d -m 0755 "$root/share/man/man$section"
  rm -f "$root/share/man/man$section/${page##*/}.gz"
  gzip -9 -n -c "$page" >"$root/share/man/man$section/${page##*/}.gz"
  chmod 0444 "$root/share/man/man$section/${page##*/}.gz"
done

if [ "$PREFIX" != /usr/local ]; then
  echo "install: note: jailnet's built-in defaults stay under /usr/local (network files, CNI plugin directory, jailnetd.json, jailnetd); see docs/install.md" >&2
fi
echo "install: jailnet installed under ${DESTDIR:+$DESTDIR}$PREFIX"
