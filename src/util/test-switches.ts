/**
 * Test switches: environment variables that point jailnet at an emulated host instead of the
 * machine (JAILNET_FREEBSD_ROOT: where the FreeBSD tools are; JAILNET_RUN_DIR: where locks
 * are). They let the tests, the demo and the benches run the product unchanged, and they would
 * let whoever sets a root process's environment redirect what it runs, so the installed
 * executables do not have them: scripts/build.mjs builds dist/ (tests, demo, benches) with
 * `globalThis.JAILNET_TEST_SWITCHES` defined as true and dist/release/ (what `npm pack` ships)
 * as false, and esbuild drops every `if (globalThis.JAILNET_TEST_SWITCHES !== false) {...}`
 * block, with the variable names written in it, from the release build. Run from the sources
 * (jest), the global is undefined and the switches work.
 *
 * Read a switch only inside such a block, with the test written out at the place (an imported
 * constant is folded too late for esbuild to drop the block) and the variable's name written
 * out in it (an exported name constant would stay in the bundle). docs/security.md lists them;
 * test/process/package-install.test.ts checks that the shipped files do not contain them.
 */

declare global {
  // eslint-disable-next-line no-var
  var JAILNET_TEST_SWITCHES: boolean | undefined;
}

export {};
