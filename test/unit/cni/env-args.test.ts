import { argsIps, parseCniArgs } from '../../../src/cni/args';
import { readCniEnv } from '../../../src/cni/env';
import { CniError } from '../../../src/cni/errors';

function codeOf(fn: () => unknown): { code: number; msg: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof CniError) return { code: err.code, msg: err.message };
    throw err;
  }
  throw new Error('no error thrown');
}

const full = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_NETNS: 'web1', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/local/libexec/cni' };

describe('CNI environment', () => {
  test('ADD with everything set', () => {
    expect(readCniEnv(full)).toEqual({ command: 'ADD', containerId: 'abc', netns: 'web1', ifname: 'eth0', args: '', path: ['/usr/local/libexec/cni'] });
  });

  test.each([
    [{ ...full, CNI_COMMAND: undefined }, 'CNI_COMMAND'],
    [{ ...full, CNI_COMMAND: 'ATTACH' }, 'unknown CNI_COMMAND "ATTACH"'],
    [{ ...full, CNI_CONTAINERID: '' }, 'CNI_CONTAINERID'],
    [{ ...full, CNI_NETNS: undefined }, 'CNI_NETNS'],
    [{ ...full, CNI_IFNAME: undefined }, 'CNI_IFNAME'],
    [{ ...full, CNI_COMMAND: 'CHECK', CNI_NETNS: '' }, 'CNI_NETNS'],
    [{ ...full, CNI_COMMAND: 'DEL', CNI_IFNAME: '' }, 'CNI_IFNAME'],
    [{ ...full, CNI_CONTAINERID: '-rf' }, 'invalid CNI_CONTAINERID'],
    [{ ...full, CNI_CONTAINERID: 'a;reboot' }, 'invalid CNI_CONTAINERID'],
    [{ ...full, CNI_CONTAINERID: 'a'.repeat(257) }, 'invalid CNI_CONTAINERID'],
    [{ ...full, CNI_IFNAME: 'eth0123456789012' }, 'longer than 15'],
    [{ ...full, CNI_IFNAME: '..' }, '"." and ".."'],
    [{ ...full, CNI_IFNAME: 'eth/0' }, 'contains "/"'],
    [{ ...full, CNI_IFNAME: 'eth 0' }, 'whitespace'],
    [{ ...full, CNI_IFNAME: 'eth:0' }, 'contains "/", ":"'],
  ])('refused with code 4: %#', (env, message) => {
    const { code, msg } = codeOf(() => readCniEnv(env));
    expect(code).toBe(4);
    expect(msg).toContain(message);
  });

  test('missing variables are all named', () => {
    expect(codeOf(() => readCniEnv({ CNI_COMMAND: 'ADD' })).msg).toContain('CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME missing for ADD');
  });

  test('DEL does not need CNI_NETNS (nerdctl deletes with an empty netns)', () => {
    expect(readCniEnv({ ...full, CNI_COMMAND: 'DEL', CNI_NETNS: '' }).netns).toBe('');
  });

  test.each(['GC', 'STATUS', 'VERSION'])('%s needs only CNI_COMMAND', (command) => {
    expect(readCniEnv({ CNI_COMMAND: command }).command).toBe(command);
  });
});

describe('CNI_ARGS', () => {
  test('parses pairs, keeps case, splits IP lists', () => {
    const args = parseCniArgs('IP=10.0.0.5,10.0.1.5;MAC=02:00:00:00:00:01', ['IP', 'MAC']);
    expect(args.get('MAC')).toBe('02:00:00:00:00:01');
    expect(argsIps(args)).toEqual(['10.0.0.5', '10.0.1.5']);
  });

  test('an unknown key is refused naming it', () => {
    expect(codeOf(() => parseCniArgs('IP=1.2.3.4;K8S_POD_NAME=x', ['IP']))).toEqual({ code: 4, msg: 'CNI_ARGS: unknown key "K8S_POD_NAME"' });
  });

  test.each(['IgnoreUnknown=1', 'IgnoreUnknown=true', 'IgnoreUnknown=True'])('unknown keys pass with %s', (flag) => {
    expect(parseCniArgs(`${flag};K8S_POD_NAME=x`, ['IP']).get('K8S_POD_NAME')).toBe('x');
  });

  test('keys are case-sensitive', () => {
    expect(codeOf(() => parseCniArgs('ip=1.2.3.4', ['IP'])).msg).toContain('"ip"');
  });

  test.each(['novalue', '=x', 'IgnoreUnknown=maybe'])('malformed %p is refused with code 4', (raw) => {
    expect(codeOf(() => parseCniArgs(raw, ['IP'])).code).toBe(4);
  });

  test('empty CNI_ARGS and empty pairs are fine', () => {
    expect(parseCniArgs('', []).size).toBe(0);
    expect(parseCniArgs('IP=1.2.3.4;', ['IP']).size).toBe(1);
  });
});
