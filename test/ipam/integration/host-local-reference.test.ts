import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cniEnv, Sandbox } from '../helpers/sandbox';

/**
 * jailnet's host-local beside the reference plugin (Debian's containernetworking-plugins, which
 * runs on Linux: an IPAM plugin needs no namespace): the same configuration, the same ADDs and
 * DELs in the same order, and the same answers, address for address and field for field. The
 * reference keeps its leases in a dataDir of its own; jailnet's ignores dataDir and asks jailnetd.
 */

jest.setTimeout(180_000);

const REFERENCE = '/usr/lib/cni/host-local';

let sb: Sandbox;
beforeAll(async () => {
  if (!existsSync(REFERENCE)) throw new Error(`${REFERENCE} is missing: apt-get install containernetworking-plugins (scripts/install-deps.sh does)`);
  sb = new Sandbox('host-local');
  await sb.startDaemon();
});
afterAll(() => sb.cleanup());

interface Answer {
  code: number;
  json: Record<string, unknown> | undefined;
}

function runReference(env: Record<string, string>, stdin: object): Promise<Answer> {
  return new Promise((resolve) => {
    const child = execFile(REFERENCE, [], { env: { PATH: '/usr/bin:/bin', CNI_PATH: '/usr/lib/cni', ...env } }, (err, stdout) => {
      let json: Record<string, unknown> | undefined;
      try {
        json = stdout ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, json });
    });
    child.stdin?.end(JSON.stringify(stdin));
  });
}

type Step = { op: 'ADD' | 'DEL'; id: string; ip?: string; ips?: string[] };

/** Runs the same steps through both plugins; returns each one's answers, in order. */
async function sideBySide(name: string, cniVersion: string, ipam: Record<string, unknown>, steps: Step[]): Promise<{ reference: Answer[]; jailnet: Answer[] }> {
  const dataDir = join(sb.dir, `reference-data-${name}`);
  mkdirSync(dataDir, { recursive: true });
  const conf = (plugin: 'reference' | 'jailnet', step: Step) => {
    const own = plugin === 'reference' ? { dataDir } : { socket: sb.socket, autostart: false };
    const c: Record<string, unknown> = { cniVersion, name, type: 'bridge', capabilities: { ips: true }, ipam: { type: 'host-local', ...ipam, ...own } };
    if (step.ips) c.runtimeConfig = { ips: step.ips };
    return c;
  };
  const reference: Answer[] = [];
  const jailnet: Answer[] = [];
  for (const step of steps) {
    const env = cniEnv(step.op, step.id, 'eth0', step.ip ? { CNI_ARGS: `IP=${step.ip}` } : {});
    reference.push(await runReference(env, conf('reference', step)));
    const r = await sb.runPlugin(env, conf('jailnet', step), sb.hostLocal);
    jailnet.push({ code: r.code, json: r.json as Record<string, unknown> | undefined });
  }
  return { reference, jailnet };
}

const addresses = (answers: Answer[]) => answers.map((a) => (a.code === 0 ? ((a.json?.ips as { address: string }[] | undefined) ?? []).map((ip) => ip.address) : `failed (${a.code})`));

test('one range with routes and resolvConf: round-robin after DEL, IP= and the ips capability move the cursor, the same results', async () => {
  const resolv = join(sb.dir, 'resolv.conf');
  writeFileSync(resolv, '# generated\nnameserver 10.4.0.53\nnameserver 192.0.2.53\ndomain example.org\nsearch a.example b.example\noptions ndots:2 edns0\n; comment\nbogus\n');
  const steps: Step[] = [
    { op: 'ADD', id: 'c1' },
    { op: 'ADD', id: 'c2' },
    { op: 'ADD', id: 'c3' },
    { op: 'DEL', id: 'c2' },
    { op: 'ADD', id: 'c4' },
    { op: 'ADD', id: 'c5', ip: '10.4.0.100' },
    { op: 'ADD', id: 'c6' },
    { op: 'ADD', id: 'c7', ips: ['10.4.0.3/24'] },
    { op: 'ADD', id: 'c8' },
    { op: 'DEL', id: 'c1' },
    { op: 'DEL', id: 'nobody' },
    { op: 'ADD', id: 'c9' },
  ];
  const { reference, jailnet } = await sideBySide('hl-one', '1.0.0', { routes: [{ dst: '0.0.0.0/0' }, { dst: '192.0.2.0/24', gw: '10.4.0.254' }], resolvConf: resolv, ranges: [[{ subnet: '10.4.0.0/24', gateway: '10.4.0.1' }]] }, steps);
  expect(addresses(reference)).toEqual([['10.4.0.2/24'], ['10.4.0.3/24'], ['10.4.0.4/24'], [], ['10.4.0.5/24'], ['10.4.0.100/24'], ['10.4.0.101/24'], ['10.4.0.3/24'], ['10.4.0.6/24'], [], [], ['10.4.0.7/24']]);
  expect(jailnet).toEqual(reference);
  expect(jailnet[0]?.json).toEqual({
    cniVersion: '1.0.0',
    ips: [{ address: '10.4.0.2/24', gateway: '10.4.0.1' }],
    routes: [{ dst: '0.0.0.0/0' }, { dst: '192.0.2.0/24', gw: '10.4.0.254' }],
    dns: { nameservers: ['10.4.0.53', '192.0.2.53'], domain: 'example.org', search: ['a.example', 'b.example'], options: ['ndots:2', 'edns0'] },
  });
});

test('two ranges in a set and an IPv6 set, rangeStart/rangeEnd, a gateway inside the range, wrapping around, exhaustion; 0.4.0 results', async () => {
  const steps: Step[] = [
    ...['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id): Step => ({ op: 'ADD', id })),
    { op: 'DEL', id: 'b' },
    { op: 'DEL', id: 'e' },
    { op: 'ADD', id: 'h' },
    { op: 'ADD', id: 'i' },
    { op: 'ADD', id: 'j' },
    { op: 'DEL', id: 'a' },
    { op: 'ADD', id: 'k' },
  ];
  const ranges = [
    [
      { subnet: '10.5.0.0/28', rangeStart: '10.5.0.2', rangeEnd: '10.5.0.5', gateway: '10.5.0.3' },
      { subnet: '10.5.1.0/29', rangeEnd: '10.5.1.3' },
    ],
    [{ subnet: 'fd00:5::/120', rangeStart: 'fd00:5::10', rangeEnd: 'fd00:5::18' }],
  ];
  const { reference, jailnet } = await sideBySide('hl-two', '0.4.0', { ranges }, steps);
  expect(addresses(reference).slice(0, 7)).toEqual([
    ['10.5.0.2/28', 'fd00:5::10/120'],
    ['10.5.0.4/28', 'fd00:5::11/120'],
    ['10.5.0.5/28', 'fd00:5::12/120'],
    ['10.5.1.2/29', 'fd00:5::13/120'],
    ['10.5.1.3/29', 'fd00:5::14/120'],
    'failed (1)',
    'failed (1)',
  ]);
  expect(addresses(jailnet)).toEqual(addresses(reference));
  // Same shape where both succeed (0.4.0: ips carry "version"; the reference's dns is an empty object).
  reference.forEach((r, i) => {
    if (r.code === 0) expect(jailnet[i]?.json).toEqual(r.json);
  });
  expect(jailnet[0]?.json).toEqual({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.5.0.2/28', gateway: '10.5.0.3' }, { version: '6', address: 'fd00:5::10/120', gateway: 'fd00:5::1' }], dns: {} });
});
