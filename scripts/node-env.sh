# Sourced (POSIX sh) by test.sh and demo.sh after install-deps.sh, and by install-deps.sh itself,
# from the repository root: when install-deps.sh has installed the project-local Node (.tools/node,
# for a machine whose node is missing or older than 20.19), puts it first on PATH (even when PATH
# already has it further back, after an older node) and exports PATH, so that npm, npx, jest and
# everything the tests spawn run on it.
if [ -x "$PWD/.tools/node/bin/node" ] && [ "$(command -v node 2>/dev/null)" != "$PWD/.tools/node/bin/node" ]; then
  PATH="$PWD/.tools/node/bin:$PATH"
  export PATH
fi
