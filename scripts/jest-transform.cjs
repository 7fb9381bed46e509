// Jest transform: TypeScript and ES modules to CommonJS with esbuild (type checking is
// `tsc --noEmit`, run separately by the test command).
const { transformSync } = require('esbuild');

module.exports = {
  process(source, filename) {
    const loader = filename.endsWith('.ts') ? 'ts' : 'js';
    const { code, map } = transformSync(source, { loader, format: 'cjs', target: 'node20', sourcemap: 'external', sourcefile: filename });
    return { code, map };
  },
};
