#!/bin/sh
# The demo (README): jails on the emulated FreeBSD host, attached with the jailnet command,
# reaching each other and the Internet through NAT, a published port answering.
# Needs root (network namespaces); installs what is missing.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
. scripts/node-env.sh
npm run --silent build
exec node scripts/run-ts.cjs demo/run.ts
