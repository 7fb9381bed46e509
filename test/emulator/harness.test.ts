/** The harness itself: unique names, teardown, cleanup on exit, leftovers of dead runs. */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { canRunEmulator, cleanupStaleHosts, createEmulatedHost } from '../harness/emulated-host';

const d = canRunEmulator ? describe : describe.skip;

function netns(): string[] {
  return execFileSync('/usr/sbin/ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

/**
 * The machine's own network state, in the root namespace: interfaces, IPv4 and IPv6 routes and
 * the nftables ruleset. (Route lifetimes that count down are masked.)
 */
function machineState(): Record<'links' | 'routes' | 'routes6' | 'nft', string> {
  const run = (file: string, args: string[]) => execFileSync(file, args, { encoding: 'utf8' });
  return {
    links: run('/usr/sbin/ip', ['-br', 'link']),
    routes: run('/usr/sbin/ip', ['route']),
    routes6: run('/usr/sbin/ip', ['-6', 'route']).replace(/ expires \d+sec/g, ' expires Nsec'),
    nft: run('/usr/sbin/nft', ['list', 'ruleset']),
  };
}

/** Gone, or a zombie waiting for its reaper (it no longer runs). */
function notRunning(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

interface ChildReport {
  prefix: string;
  dir: string;
  namespaces: string[];
  pids: number[];
}

/** Runs test/harness/exit-child.cjs: it creates a host and ends without destroying it. */
function runExitChild(mode: 'exit' | 'throw'): Promise<{ code: number | null; report: ChildReport; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, '..', 'harness', 'exit-child.cjs'), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`exit-child ${mode} did not end within 60 s: ${err}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve({ code, report: JSON.parse(out) as ChildReport, stderr: err });
      } catch {
        reject(new Error(`exit-child ${mode} printed no report (exit ${code}): ${err}`));
      }
    });
  });
}

d('emulated host harness', () => {
  test('two hosts in one process are independent; destroy removes every namespace, process and file', async () => {
    const before = machineState();
    const [h1, h2] = await Promise.all([createEmulatedHost(), createEmulatedHost()]);
    expect(h1.hostNs).not.toBe(h2.hostNs);
    expect(h1.hostNs).toMatch(new RegExp(`^jne-${process.pid}-[0-9a-f]{6}-h$`));
    await h1.createJail('same');
    await h2.createJail('same');
    expect((await h1.runOk('ifconfig', ['epair', 'create'])).trim()).toBe('epair0a');
    expect((await h2.runOk('ifconfig', ['epair', 'create'])).trim()).toBe('epair0a');
    const server = await h1.startWorldServer({ proto: 'tcp', port: 7000 });
    const sleeper = h1.spawnInJail('same', ['/bin/sleep', '60']);
    await new Promise((r) => setTimeout(r, 200));
    const mine = netns().filter((n) => n.startsWith(`jne-${process.pid}-`));
    expect(mine.length).toBe(6);
    await h1.destroy();
    await h2.destroy();
    expect(netns().filter((n) => n.startsWith(`jne-${process.pid}-`))).toEqual([]);
    expect(existsSync(h1.dir)).toBe(false);
    expect(server.process.exitCode !== null || server.process.signalCode !== null).toBe(true);
    expect(sleeper.exitCode !== null || sleeper.signalCode !== null).toBe(true);
    // The machine's own interfaces, routes and firewall are untouched.
    expect(machineState()).toEqual(before);
  });

  test.each(['exit', 'throw'] as const)(
    'a process that ends (%s) without destroy() leaves nothing behind: namespaces, processes, files, machine state',
    async (mode) => {
      const before = machineState();
      const { code, report, stderr } = await runExitChild(mode);
      expect(code).toBe(mode === 'exit' ? 0 : 1);
      if (mode === 'throw') expect(stderr).toContain('failing on purpose');
      // What the child had made: host, world and jail namespaces, a server, jexec and its program.
      expect(report.namespaces.length).toBe(3);
      expect(report.pids.length).toBeGreaterThanOrEqual(3);
      // The exit hook ran synchronously before the child was gone.
      expect(netns().filter((n) => n.startsWith(report.prefix))).toEqual([]);
      expect(existsSync(report.dir)).toBe(false);
      const deadline = Date.now() + 5000;
      while (!report.pids.every(notRunning) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(report.pids.filter((p) => !notRunning(p))).toEqual([]);
      expect(machineState()).toEqual(before);
    },
    90_000,
  );

  test('every tool runs in the host namespace, whoever starts it, so its locks exclude a holder inside the host', async () => {
    const host = await createEmulatedHost();
    const hostNsLink = `net:[${statSync(`/run/netns/${host.hostNs}`).ino}]`;
    // Hold the tools' "state" lock from inside the host namespace, as a tool started there by
    // jailnetd would (the name is emulator/src/context.ts withLock's).
    const id = createHash('sha256').update(`${host.dir}\0state`).digest('hex').slice(0, 32);
    const holder = spawn('/usr/sbin/ip', ['netns', 'exec', host.hostNs, process.execPath, '-e', `require('net').createServer().listen('\\0jailnet-emu-${id}', () => console.log('held')); process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout?.once('data', () => resolve());
        holder.once('exit', (c) => reject(new Error(`lock holder exited with ${c}`)));
      });
      // A tool started from the machine's namespace (the wrapper execs nsenter, then node: one PID).
      const tool = spawn(host.toolPath('ifconfig'), ['epair', 'create'], { env: host.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      tool.stdout?.on('data', (b: Buffer) => (out += b.toString()));
      const done = new Promise<number | null>((resolve) => tool.once('exit', resolve));
      const pid = tool.pid as number;
      const deadline = Date.now() + 30_000;
      // Until nsenter has exec'd node, the process is the shell or nsenter (whose argv names the tool too).
      while (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] !== process.execPath) {
        if (Date.now() > deadline) throw new Error('the tool did not start');
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(readlinkSync(`/proc/${pid}/ns/net`)).toBe(hostNsLink);
      // Blocked on the lock: nothing created until the holder lets go.
      expect(tool.exitCode).toBeNull();
      holder.stdin?.end();
      expect(await done).toBe(0);
      expect(out.trim()).toBe('epair0a');
    } finally {
      holder.kill('SIGKILL');
      await host.destroy();
    }
  });

  test('cleanupStaleHosts removes namespaces of runs whose process is gone, and only those', async () => {
    // A pid that is not running: the harness's naming scheme with a dead creator.
    let dead = 4_000_000;
    while (existsSync(`/proc/${dead}`)) dead++;
    const stale = `jne-${dead}-abcdef-h`;
    execFileSync('/usr/sbin/ip', ['netns', 'add', stale]);
    const live = await createEmulatedHost();
    try {
      expect(netns()).not.toContain(stale);
      expect(cleanupStaleHosts()).toEqual([]);
      expect(netns()).toContain(live.hostNs);
    } finally {
      await live.destroy();
    }
  });
});
