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
npx jest --ci "$@"
