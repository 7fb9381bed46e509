#!/bin/sh
# The test command (README, .ci/run): installs what is missing, builds, type-checks and runs
# every jest suite. Integration suites need root (network namespaces); CI runs as root.
# Extra arguments go to jest, e.g. scripts/test.sh test/unit
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
. scripts/node-env.sh
npm run --silent build
npx tsc -p . --noEmit
# Node reads and parses the certificate bundle NODE_EXTRA_CA_CERTS names before any code runs
# (~80 ms with Debian's bundle, twice a bare start). The tests start thousands of Node processes
# (plugins, the emulated FreeBSD tools) and none of them makes a TLS connection; npm above needed it.
unset NODE_EXTRA_CA_CERTS
npx jest --ci "$@"
