/**
 * jailnet's own pfctl layer (src/freebsd/pfctl.ts: the exact argv and output parsing the
 * product uses) against the emulated pfctl: every function works, and the "already gone"
 * cases it tolerates are classified as FreeBSD's messages make them.
 */
import * as pf from '../../src/freebsd/pfctl';
import { canRunEmulator, createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';

/** The test switch that points the product at the emulated host (src/util/test-switches.ts). */
const TOOL_ROOT_ENV = 'JAILNET_FREEBSD_ROOT';

const d = canRunEmulator ? describe : describe.skip;

d('src/freebsd/pfctl.ts against the emulated pfctl', () => {
  let host: EmulatedHost;
  let saved: string | undefined;

  beforeAll(async () => {
    host = await createEmulatedHost();
    saved = process.env[TOOL_ROOT_ENV];
    process.env[TOOL_ROOT_ENV] = host.dir;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env[TOOL_ROOT_ENV];
    else process.env[TOOL_ROOT_ENV] = saved;
    await host?.destroy();
  });

  test('enable, status, anchors, rules, tables, flush, kill', async () => {
    expect(await pf.isPfEnabled()).toBe(false);
    expect(await pf.enablePf()).toBe(true);
    expect(await pf.enablePf()).toBe(false);
    expect(await pf.isPfEnabled()).toBe(true);

    await host.runOk('pfctl', ['-f', '-'], { input: 'nat-anchor "jailnet/*"\nrdr-anchor "jailnet/*"\nanchor "jailnet/*"\n' });
    expect(await pf.showRules('nat')).toEqual(['nat-anchor "jailnet/*" all', 'rdr-anchor "jailnet/*" all']);
    expect(await pf.showRules('rules')).toEqual(['anchor "jailnet/*" all']);

    await pf.loadAnchor('jailnet/web1', 'table <jailnet-web1> persist\nnat on em0 inet from <jailnet-web1> to any -> (em0)\nrdr pass on em0 inet proto tcp from any to (em0) port 8080 -> 10.88.0.5 port 80\n');
    expect(await pf.showRules('nat', 'jailnet/web1')).toEqual([
      'nat on em0 inet from <jailnet-web1> to any -> (em0) round-robin',
      'rdr pass on em0 inet proto tcp from any to (em0) port = http-alt -> 10.88.0.5 port 80',
    ]);
    expect(await pf.showRules('rules', 'jailnet/web1')).toEqual([]);
    expect(await pf.listAnchors('jailnet/*')).toEqual(['jailnet/web1']);
    expect(await pf.listAnchors()).toEqual(['jailnet', 'jailnet/web1']);
    expect(await pf.listTables('jailnet/web1')).toEqual(['jailnet-web1']);

    await pf.changeTable('add', 'jailnet-web1', ['10.88.0.5', '10.88.0.0/24'], 'jailnet/web1');
    expect(await pf.showTable('jailnet-web1', 'jailnet/web1')).toEqual(['10.88.0.0/24', '10.88.0.5']);
    await pf.changeTable('delete', 'jailnet-web1', ['10.88.0.0/24'], 'jailnet/web1');
    await pf.changeTable('replace', 'jailnet-web1', ['10.88.0.6'], 'jailnet/web1');
    expect(await pf.showTable('jailnet-web1', 'jailnet/web1')).toEqual(['10.88.0.6']);
    await pf.flushTable('jailnet-web1', 'jailnet/web1');
    expect(await pf.showTable('jailnet-web1', 'jailnet/web1')).toEqual([]);

    // Missing things: empty answers, not errors.
    expect(await pf.showTable('nosuch', 'jailnet/web1')).toEqual([]);
    await pf.flushTable('nosuch', 'jailnet/nosuch');
    expect(await pf.showRules('nat', 'jailnet/nosuch')).toEqual([]);
    expect(await pf.showRules('rules', 'jailnet/nosuch')).toEqual([]);
    expect(await pf.listAnchors('jailnet/nosuch')).toEqual([]);

    await pf.flushAnchor('jailnet/web1');
    expect(await pf.listAnchors('jailnet/*')).toEqual([]);
    // Flushing an anchor that is already gone succeeds (FreeBSD: "Anchor does not exist.", exit 1).
    await pf.flushAnchor('jailnet/web1');

    await pf.killStatesFrom('10.88.0.5');
  });
});
