// jest globalSetup: the integration, emulator and interop suites need root (network namespaces)
// and iproute2/nftables; without them some skip themselves and the others fail. A run without
// them is refused with one clear message instead, unless JAILNET_TESTS_ALLOW_SKIP=1 says that
// only suites that need neither are meant (JAILNET_TESTS_ALLOW_SKIP=1 npx jest test/unit).
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
      'Run ./scripts/test.sh as root (it installs what is missing), or run the unit tests alone as any user: JAILNET_TESTS_ALLOW_SKIP=1 npx jest test/unit',
  );
};
