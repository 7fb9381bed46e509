/**
 * Test switches: environment variables that point jailnet at an emulated host instead of the
 * machine (JAILNET_FREEBSD_ROOT: where the FreeBSD tools are; JAILNET_RUN_DIR: where locks
 * are). They let the tests, the demo and the benches run the product unchanged, and they would
 * let whoever sets a root process's environment redirect every command it runs, so the
 * installed executables do not have them: scripts/build.mjs builds dist/ (tests, demo, benches)
 * with JAILNET_TEST_SWITCHES=true and dist/release/ (what `npm pack` ships) with false, and
 * esbuild removes every `TEST_SWITCHES ? ... : ...` branch, and the variable names with them,
 * from the release build. Read a switch only as `TEST_SWITCHES ? env[NAME] : undefined`, at
 * the place that uses it, so that the name goes too (docs/security.md).
 */

declare const JAILNET_TEST_SWITCHES: boolean | undefined;

/** True in dist/ and when the sources run directly (jest); false in the release build. */
export const TEST_SWITCHES: boolean = typeof JAILNET_TEST_SWITCHES === 'undefined' ? true : JAILNET_TEST_SWITCHES;
