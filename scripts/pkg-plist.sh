#!/bin/sh
# Prints the pkg-plist of a staged install (pkg-plist(5) of the ports tree): every file and
# symbolic link under STAGEDIR/PREFIX, relative to PREFIX, sorted; a *.sample file as "@sample"
# (pkg copies it to the name without .sample unless that exists, and removes that copy on
# deinstall only when it is unchanged). Refuses anything outside PREFIX and empty directories,
# which a plist would have to name.
#   make plist     (stages into a temporary directory and writes conf/freebsd-port/pkg-plist)
#   sh scripts/pkg-plist.sh STAGEDIR PREFIX
set -eu
[ $# -eq 2 ] || {
  echo "usage: sh scripts/pkg-plist.sh STAGEDIR PREFIX" >&2
  exit 2
}
stage=${1%/}
prefix=${2%/}
base=$stage$prefix
[ -d "$base" ] || {
  echo "pkg-plist: $base is not a directory" >&2
  exit 1
}
outside=$(find "$stage" \( -type f -o -type l \) ! -path "$base/*")
[ -z "$outside" ] || {
  echo "pkg-plist: files outside $prefix: $outside" >&2
  exit 1
}
empty=$(find "$base" -type d -empty)
[ -z "$empty" ] || {
  echo "pkg-plist: empty directories: $empty" >&2
  exit 1
}
echo '@comment Generated from the staged install by "make plist" (scripts/pkg-plist.sh); do not edit.'
find "$base" \( -type f -o -type l \) | cut -c "$((${#base} + 2))-" | LC_ALL=C sort |
  sed -e 's/^\(.*\.sample\)$/@sample \1/'
