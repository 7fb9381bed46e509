// mulberry32: small, seedable, good enough to pick fuzz bytes. CommonJS so that the fuzz suites'
// child scripts (test/dns/fuzz-client.cjs, run by node itself) share it with the TypeScript suites.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

module.exports = { prng };
