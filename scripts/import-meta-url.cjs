// esbuild inject for CommonJS bundles: ES modules such as yargs read import.meta.url.
export const importMetaUrl = require('node:url').pathToFileURL(__filename).href;
