// jest globalSetup: the integration, emulator and interop suites need root (network namespaces)
// and iproute2/nftables, and skip themselves without them. So that a run without them cannot
// pass by skipping, it is refused unless JAILNET_TESTS_ALLOW_SKIP=1 says skipping is intended.
'use strict';
const { existsSync } = require('node:fs');

module.exports = async function requireRoot() {
  if (process.env.JAILNET_TESTS_ALLOW_SKIP === '1') return;
  const problems = [];
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) problems.push('they are not running as root');
  for (const tool of ['/usr/sbin/ip', '/usr/sbin/nft']) if (!existsSync(tool)) problems.push(`${tool} is missing`);
  if (problems.length === 0) return;
  throw new Error(
    `the tests need root and iproute2/nftables for the emulated FreeBSD host, but ${problems.join(' and ')}. ` +
      'Run ./scripts/test.sh as root (it installs what is missing), or set JAILNET_TESTS_ALLOW_SKIP=1 to run the unit tests and skip the integration suites.',
  );
};
