import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// Issue 10.13: the project's jest configuration fails a test that prints through console
// (test/setup/quiet.cjs), and leaves a quiet one passing.
const root = join(__dirname, '..', '..');

test('a test that prints fails, naming what it printed; a quiet one passes', () => {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const run = spawnSync(process.execPath, [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci', '--roots', '<rootDir>/test/fixtures/quiet', '--testMatch', '**/prints.fixture.ts', '--json'], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  const report = JSON.parse(run.stdout) as { testResults: { assertionResults: { title: string; status: string; failureMessages: string[] }[] }[] };
  const results = report.testResults[0]?.assertionResults ?? [];
  expect(results.map((r) => `${r.title}: ${r.status}`)).toEqual(['prints: failed', 'quiet: passed']);
  expect(results[0]?.failureMessages.join('\n')).toContain('console.warn: an expected warning on the console');
});
