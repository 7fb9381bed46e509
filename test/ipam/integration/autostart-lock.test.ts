import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatStart, processStart, type ProcessStart } from '../../../src/freebsd/process';
import { cniEnv, Sandbox } from '../helpers/sandbox';

/**
 * Autostart's start file (`<socket>.start`) is the project's one lock (src/util/file-lock.ts):
 * a file naming a PID that another process got since its writer died does not keep the plugin
 * from starting jailnetd (issue 10 item 8); one naming a live starter does.
 */

let sb: Sandbox;
let sleeper: ChildProcess;
let start: ProcessStart;

beforeAll(async () => {
  sb = new Sandbox('startlock');
  mkdirSync(dirname(sb.socket), { recursive: true, mode: 0o700 });
  sleeper = spawn('/bin/sleep', ['120'], { stdio: 'ignore' });
  await new Promise((r) => sleeper.once('spawn', r));
  start = (await processStart(sleeper.pid as number)) as ProcessStart;
});
afterAll(() => {
  sleeper.kill('SIGKILL');
  return sb.cleanup();
});

const conf = (timeout: number) => ({ cniVersion: '1.0.0', name: 'startlock', type: 'bridge', ipam: sb.ipam([[{ subnet: '10.82.0.0/24' }]], { timeout }) });

test('a start file of a live starter is waited for (the control)', async () => {
  writeFileSync(`${sb.socket}.start`, `${sleeper.pid} ${formatStart(start)}\n`);
  const r = await sb.runPlugin(cniEnv('ADD', 'a'), conf(1));
  expect(r.code).toBe(1);
  expect(String(r.json?.msg)).toContain(`(process ${sleeper.pid} is starting it)`);
});

test('a start file naming a reused PID does not hold the start up', async () => {
  const earlier: ProcessStart = start.kind === 'linux' ? { ...start, ticks: start.ticks - 500 } : { ...start, seconds: start.seconds - 5 };
  writeFileSync(`${sb.socket}.start`, `${sleeper.pid} ${formatStart(earlier)}\n`);
  const r = await sb.runPlugin(cniEnv('ADD', 'b'), conf(5));
  expect(r.stdout).not.toMatch(/"code"/);
  expect(r.code).toBe(0);
  expect(r.json?.ips).toEqual([{ address: '10.82.0.2/24', gateway: '10.82.0.1' }]);
  const holder = sb.lockHolder();
  expect(holder).toBeDefined();
  sb.adopt(holder as number);
});
