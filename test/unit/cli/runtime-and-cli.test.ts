import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniError } from '../../../src/cni/errors';
import { cachePath, deleteCache, listCache, readCache, writeCache } from '../../../src/cni/runtime/cache';
import { pluginConfig } from '../../../src/cni/runtime/chain';
import { parseConflist } from '../../../src/cni/runtime/conflist';
import { hookRequest, parseOciState } from '../../../src/cli/oci-hook';
import { formatPort, parsePortSpec } from '../../../src/cli/ports';

const list = parseConflist(
  Buffer.from(JSON.stringify({ cniVersion: '0.4.0', name: 'n1', plugins: [{ type: 'bridge', bridge: 'jailnet0' }, { type: 'portmap', capabilities: { portMappings: true, mac: false } }] })),
  'test',
);

describe('conflists and plugin configuration (libcni buildOneConfig)', () => {
  test('name and cniVersion are injected; capabilities only where declared and true', () => {
    const rt = { containerId: 'c', netns: 'j', ifname: 'eth0', capabilityArgs: { portMappings: [{ hostPort: 1 }], mac: '02:00:00:00:00:01' } };
    expect(pluginConfig(list, list.plugins[0]!, rt)).toEqual({ type: 'bridge', bridge: 'jailnet0', name: 'n1', cniVersion: '0.4.0' });
    expect(pluginConfig(list, list.plugins[1]!, rt)).toMatchObject({ runtimeConfig: { portMappings: [{ hostPort: 1 }] } });
    expect(pluginConfig(list, list.plugins[1]!, rt).runtimeConfig).not.toHaveProperty('mac');
  });

  test('prevResult is written in the list version', () => {
    const conf = pluginConfig(list, list.plugins[1]!, { containerId: 'c', netns: 'j', ifname: 'eth0' }, { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] });
    expect(conf.prevResult).toEqual({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.2/24' }] });
  });

  test.each([
    ['{', 6],
    ['{"cniVersion":"1.0.0","name":"n","plugins":[]}', 7],
    ['{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../bin/sh"}]}', 7],
    ['{"cniVersion":"0.1.0","name":"n","plugins":[{"type":"bridge"}]}', 1],
  ])('%s is refused with code %i', (text, code) => {
    try {
      parseConflist(Buffer.from(text), 'test');
      throw new Error('accepted');
    } catch (err) {
      expect((err as CniError).code).toBe(code);
    }
  });
});

describe('result cache (libcni format)', () => {
  test('written 0600 under results/, listed, read and deleted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jailnet-cache-'));
    try {
      const entry = { kind: 'cniCacheV1' as const, containerId: 'c1', config: list.bytes.toString('base64'), ifName: 'eth0', networkName: 'n1', netns: 'j1', result: { cniVersion: '0.4.0' } };
      writeCache(dir, entry);
      const path = cachePath(dir, 'n1', 'c1', 'eth0');
      expect(path).toBe(join(dir, 'results', 'n1-c1-eth0'));
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'results')).mode & 0o777).toBe(0o700);
      expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(entry);
      expect(readCache(dir, 'n1', 'c1', 'eth0')).toEqual(entry);
      expect(listCache(dir)).toEqual([entry]);
      deleteCache(dir, 'n1', 'c1', 'eth0');
      expect(listCache(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('-p specs', () => {
  test.each([
    ['8080:80', [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    ['5353:53/udp', [{ hostPort: 5353, containerPort: 53, protocol: 'udp' }]],
    ['127.0.0.1:8080:80', [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' }]],
    ['[::1]:8080:80', [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '::1' }]],
    ['8000-8001:9000-9001', [{ hostPort: 8000, containerPort: 9000, protocol: 'tcp' }, { hostPort: 8001, containerPort: 9001, protocol: 'tcp' }]],
    ['8443:443@web', [{ hostPort: 8443, containerPort: 443, protocol: 'tcp', network: 'web' }]],
    ['192.0.2.10:5353:53/udp@back-net', [{ hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '192.0.2.10', network: 'back-net' }]],
  ])('%s', (spec, want) => {
    expect(parsePortSpec(spec)).toEqual(want);
  });
  test.each(['80', '8080:80/sctp', '0:80', '8080:70000', '8000-8002:9000-9001', '1.2.3:80:80', '8080:80;id', '8080:80@', '8080:80@a;b', '8080:80@web@x'])('%s is refused', (spec) => {
    expect(() => parsePortSpec(spec)).toThrow(CniError);
  });
  test('formatted like docker ps', () => {
    expect(formatPort({ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' })).toBe('127.0.0.1:8080->80/tcp');
    expect(formatPort({ hostPort: 8080, containerPort: 80, protocol: 'tcp', network: 'web' })).toBe('8080->80/tcp@web');
  });
});

describe('runj hook state', () => {
  test('networks and ports from the hook arguments win', () => {
    const s = parseOciState('{"ociVersion":"1.0.2","id":"web","status":"creating","pid":1,"bundle":"/b","annotations":{"nerdctl/networks":"[\\"x\\"]"}}');
    expect(hookRequest(s, { networks: ['front'], ports: parsePortSpec('8080:80'), ips: ['10.0.0.5'] })).toEqual({ networks: ['front'], ports: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], ips: ['10.0.0.5'], names: [], resolvConf: true });
  });
  test("jailnet's annotations, then nerdctl's, then the default network", () => {
    const ann = (a: Record<string, string>) => parseOciState(JSON.stringify({ id: 'web', annotations: a }));
    expect(hookRequest(ann({ 'org.jailnet.networks': 'a,b', 'org.jailnet.ports': '8080:80/tcp,8443:443@b', 'org.jailnet.ips': '10.0.0.5, fd00::5' }), {})).toEqual({
      networks: ['a', 'b'],
      ports: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { hostPort: 8443, containerPort: 443, protocol: 'tcp', network: 'b' }],
      ips: ['10.0.0.5', 'fd00::5'],
      names: [],
      resolvConf: true,
    });
    expect(hookRequest(ann({ 'org.jailnet.ports': '[{"hostPort":8080,"containerPort":80,"protocol":"tcp","network":"b"}]' }), {}).ports).toEqual([{ hostPort: 8080, containerPort: 80, protocol: 'tcp', network: 'b' }]);
    expect(hookRequest(ann({ 'nerdctl/networks': '["bridge"]', 'nerdctl/ports': '[{"HostPort":8080,"ContainerPort":80,"Protocol":"tcp","HostIP":""}]' }), {})).toEqual({ networks: ['bridge'], ports: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], ips: [], names: [], resolvConf: true });
    expect(hookRequest(ann({}), {})).toEqual({ networks: ['default'], ports: [], ips: [], names: [], resolvConf: true });
    expect(hookRequest(ann({ 'nerdctl/networks': '["none"]' }), {}).networks).toEqual([]);
  });
  test('DNS names: the hook arguments, then org.jailnet.name/aliases, then nerdctl/name; org.jailnet.resolv-conf=false', () => {
    const ann = (a: Record<string, string>) => parseOciState(JSON.stringify({ id: 'web', annotations: a }));
    expect(hookRequest(ann({ 'org.jailnet.name': 'www', 'org.jailnet.aliases': 'a,b', 'nerdctl/name': 'n' }), {}).names).toEqual(['www', 'a', 'b']);
    expect(hookRequest(ann({ 'nerdctl/name': 'shop' }), {}).names).toEqual(['shop']);
    expect(hookRequest(ann({ 'org.jailnet.name': 'www', 'org.jailnet.aliases': '["x"]' }), { name: 'api', aliases: ['y'] }).names).toEqual(['api', 'y']);
    expect(hookRequest(ann({ 'org.jailnet.resolv-conf': 'false' }), {}).resolvConf).toBe(false);
    expect(hookRequest(ann({}), { noResolvConf: true }).resolvConf).toBe(false);
  });
  test.each(['', 'nope', '{}', '{"id":"../x"}', '{"id":"a","annotations":"x"}'])('state %p is refused', (text) => {
    expect(() => parseOciState(text)).toThrow();
  });
});
