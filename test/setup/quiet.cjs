// A passing run prints only jest's own output (issue 10.13): a test during which anything is
// written through console fails, naming what was printed. Expected warnings belong in the test's
// assertions (capture them), not on the console. Output of child processes is the tests' to
// capture; they pipe it.
const { format } = require('node:util');

const printed = [];
for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace', 'table', 'dir']) {
  const original = console[method];
  console[method] = function quietCheck(...args) {
    printed.push(`console.${method}: ${format(...args)}`.slice(0, 500));
    return original.apply(this, args);
  };
}

afterEach(() => {
  if (printed.length === 0) return;
  const lines = printed.splice(0);
  throw new Error(`a passing test prints nothing (issue 10.13); this one printed:\n${lines.join('\n')}`);
});
