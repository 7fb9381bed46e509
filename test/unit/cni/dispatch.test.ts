import { Readable } from 'node:stream';
import { CniError } from '../../../src/cni/errors';
import { dispatch, type PluginDefinition } from '../../../src/cni/skel';
import type { NetConf, Result } from '../../../src/cni/types';
import { validateWith } from '../../../src/config/validate';
import validateNetConf from '../../../src/config/generated/netconf';

interface Call {
  command: string;
  config: NetConf;
  prevResult?: Result;
}

function harness(overrides: Partial<PluginDefinition<NetConf>> = {}) {
  const calls: Call[] = [];
  const plugin: PluginDefinition<NetConf> = {
    name: 'probe',
    knownArgs: ['IP'],
    parseConfig: (raw) => validateWith<NetConf>(validateNetConf, raw, 'network configuration'),
    add: async (ctx) => {
      calls.push({ command: 'ADD', config: ctx.config, prevResult: ctx.prevResult });
      return {
        cniVersion: ctx.cniVersion,
        interfaces: [{ name: ctx.ifname, mac: '02:00:00:00:00:01', mtu: 1500, sandbox: ctx.netns }],
        ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 0 }],
      };
    },
    del: async (ctx) => void calls.push({ command: 'DEL', config: ctx.config }),
    check: async (ctx) => void calls.push({ command: 'CHECK', config: ctx.config, prevResult: ctx.prevResult }),
    gc: async (ctx) => void calls.push({ command: `GC:${ctx.validAttachments.map((a) => a.containerID).join(',')}`, config: ctx.config }),
    status: async (ctx) => void calls.push({ command: 'STATUS', config: ctx.config }),
    ...overrides,
  };
  const run = async (env: Record<string, string>, stdin: string | object) => {
    let stdout = '';
    let stderr = '';
    const code = await dispatch(plugin, {
      env,
      stdin: () => Readable.from([Buffer.from(typeof stdin === 'string' ? stdin : JSON.stringify(stdin))]),
      writeStdout: (t) => (stdout += t),
      writeStderr: (t) => (stderr += t),
    });
    return { code, stdout, stderr, json: stdout ? (JSON.parse(stdout) as Record<string, unknown>) : undefined };
  };
  return { calls, run };
}

// Errors are logged to stderr by default; keep the test output readable.
const quiet = { JAILNET_LOG_FILE: '/dev/null' };
const env = (command: string) => ({ CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_NETNS: 'jail1', CNI_IFNAME: 'eth0', CNI_PATH: '/x', ...quiet });
const conf = (version: string, extra: object = {}) => ({ cniVersion: version, name: 'net1', type: 'probe', ...extra });

describe('dispatcher', () => {
  test('VERSION lists all five versions and ignores stdin', async () => {
    const { run } = harness();
    const r = await run({ CNI_COMMAND: 'VERSION' }, 'not even json');
    expect(r.code).toBe(0);
    expect(r.json).toEqual({ cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  test.each(['0.3.0', '0.3.1', '0.4.0'])('ADD %s writes the legacy shape in that version', async (v) => {
    const r = await harness().run(env('ADD'), conf(v));
    expect(r.code).toBe(0);
    expect(r.json).toEqual({
      cniVersion: v,
      interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', sandbox: 'jail1' }],
      ips: [{ version: '4', address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 0 }],
    });
  });

  test.each(['1.0.0', '1.1.0'])('ADD %s writes the 1.x shape in that version', async (v) => {
    const r = await harness().run(env('ADD'), conf(v));
    expect(r.json?.cniVersion).toBe(v);
    expect((r.json?.interfaces as object[])[0]).toEqual({ name: 'eth0', mac: '02:00:00:00:00:01', mtu: 1500, sandbox: 'jail1' });
  });

  test('prevResult is parsed in the input version', async () => {
    const h = harness();
    const prev = { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.9/24' }] };
    expect((await h.run(env('CHECK'), conf('0.4.0', { prevResult: prev }))).code).toBe(0);
    expect(h.calls[0]?.prevResult).toEqual({ cniVersion: '0.4.0', ips: [{ address: '10.0.0.9/24' }] });
  });

  test('a bad prevResult is refused with code 7 naming the field', async () => {
    const r = await harness().run(env('CHECK'), conf('1.0.0', { prevResult: { ips: [{ address: 5 }] } }));
    expect(r.json).toMatchObject({ code: 7, msg: 'prevResult: field "ips[0].address" must be string, got 5' });
  });

  test('unknown fields are tolerated', async () => {
    expect((await harness().run(env('ADD'), conf('1.0.0', { someoneElses: { a: 1 } }))).code).toBe(0);
  });

  test('DEL, GC and STATUS print nothing on success', async () => {
    const h = harness();
    for (const command of ['DEL', 'GC', 'STATUS']) {
      const r = await h.run(env(command), conf('1.1.0', { 'cni.dev/valid-attachments': [{ containerID: 'k1', ifname: 'eth0' }] }));
      expect(r).toMatchObject({ code: 0, stdout: '' });
    }
    expect(h.calls.map((c) => c.command)).toEqual(['DEL', 'GC:k1', 'STATUS']);
  });

  test.each([
    ['empty stdin', 6, env('ADD'), '', 'not valid JSON'],
    ['not JSON', 6, env('ADD'), '{"cniVersion":', 'not valid JSON'],
    ['an array', 6, env('ADD'), '[]', 'must be a JSON object'],
    ['no cniVersion', 7, env('ADD'), { name: 'n', type: 'probe' }, 'no cniVersion'],
    ['unsupported version', 1, env('ADD'), conf('0.2.0'), 'incompatible CNI versions'],
    ['a future version', 1, env('ADD'), conf('2.0.0'), 'incompatible CNI versions'],
    ['CHECK below 0.4.0', 1, env('CHECK'), conf('0.3.1'), 'does not allow CHECK'],
    ['GC below 1.1.0', 1, env('GC'), conf('1.0.0'), 'does not allow GC'],
    ['STATUS below 1.1.0', 1, env('STATUS'), conf('0.4.0'), 'does not allow STATUS'],
    ['no name', 7, env('ADD'), { cniVersion: '1.0.0', type: 'probe' }, 'missing network name'],
    ['a bad name', 7, env('ADD'), conf('1.0.0', { name: 'a b' }), 'field "name" has invalid value "a b"'],
    ['a wrong type deep down', 7, env('ADD'), conf('1.0.0', { args: { cni: { ips: ['10.0.0.1', 7] } } }), 'field "args.cni.ips[1]" must be string, got 7'],
    ['a bad CNI_ARGS', 4, { ...env('ADD'), CNI_ARGS: 'FOO=bar' }, conf('1.0.0'), 'CNI_ARGS: unknown key "FOO"'],
    ['a missing variable', 4, { CNI_COMMAND: 'ADD', ...quiet }, conf('1.0.0'), 'CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME missing'],
  ])('%s gives code %i', async (_label, code, e, stdin, msg) => {
    const h = harness();
    const r = await h.run(e as Record<string, string>, stdin);
    expect(r.code).toBe(1);
    expect(r.json?.code).toBe(code);
    expect(String(r.json?.msg)).toContain(msg);
    expect(h.calls).toHaveLength(0);
  });

  test('the error JSON carries the input version', async () => {
    const r = await harness().run(env('CHECK'), conf('0.3.0'));
    expect(r.json?.cniVersion).toBe('0.3.0');
  });

  test('stdin above 1 MiB is refused with code 6', async () => {
    const r = await harness().run(env('ADD'), conf('1.0.0', { pad: 'x'.repeat(1024 * 1024) }));
    expect(r.json).toMatchObject({ code: 6 });
    expect(String(r.json?.msg)).toContain('larger than');
  });

  test('an error thrown by a handler becomes error JSON with its code, nothing else on stdout', async () => {
    const h = harness({ add: async () => { throw new CniError(102, 'pool "net1" is exhausted', 'widen the range'); } });
    const r = await h.run(env('ADD'), conf('1.0.0'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(JSON.stringify({ cniVersion: '1.0.0', code: 102, msg: 'pool "net1" is exhausted', details: 'widen the range' }));
  });

  test('any other exception becomes code 999 with its message', async () => {
    const h = harness({ add: async () => { throw new TypeError('boom'); } });
    expect((await h.run(env('ADD'), conf('1.0.0'))).json).toEqual({ cniVersion: '1.0.0', code: 999, msg: 'boom' });
  });
});
