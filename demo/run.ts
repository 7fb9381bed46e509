/**
 * The jailnet demo on the emulated FreeBSD host: `./scripts/demo.sh` (root, Debian).
 *
 * A FreeBSD host with an uplink em0 to "the Internet" (a namespace with a TCP server that says
 * which address it saw), pf enabled with jailnet's hooks, jailnetd, one network, two vnet jails
 * attached with the `jailnet` command, a web service in one of them published on port 8080.
 * Then: the jails talk, reach the Internet through NAT, the published port answers from the
 * outside and from the other jail (from the host itself once jailnetd proxies it, issue 9.1);
 * and detaching leaves nothing behind.
 */
import { createEmulatedHost, type EmulatedHost } from '../test/harness/emulated-host';
import { jailnetCli, type Cli } from '../test/helpers/jailnet-cli';
import { startJailnetd, type TestDaemon } from '../test/helpers/jailnetd';
import { enablePfWithHooks } from '../test/helpers/pf-hooks';

let failures = 0;

function step(title: string): void {
  process.stdout.write(`\n== ${title}\n`);
}

function show(text: string): void {
  process.stdout.write(text.replace(/^/gm, '   ').trimEnd() + '\n');
}

function verdict(ok: boolean, what: string): void {
  if (!ok) failures++;
  process.stdout.write(`   ${ok ? 'OK  ' : 'FAIL'} ${what}\n`);
}

async function sh(cli: Cli, args: string[]): Promise<string> {
  process.stdout.write(`   $ jailnet ${args.join(' ')}\n`);
  const out = await cli.ok(args);
  show(out);
  return out;
}

async function main(): Promise<void> {
  let host: EmulatedHost | undefined;
  let ipamd: TestDaemon | undefined;
  let cli: Cli | undefined;
  try {
    step('an emulated FreeBSD host: em0 to the Internet, pf with the jailnet hooks, jailnetd');
    host = await createEmulatedHost();
    show(`em0 ${host.em0Address}, the Internet's server at ${host.worldAddress}:80`);
    await host.startWorldServer({ proto: 'tcp', port: 80 });
    await enablePfWithHooks(host);
    // jailnetd runs on the host itself: its userland proxy serves the host's own connections.
    ipamd = await startJailnetd(host.env, { netns: host.hostNs });
    cli = jailnetCli(host, ipamd);

    step('a network and two vnet jails');
    await sh(cli, ['network', 'create', 'default', '--subnet', '10.88.0.0/16']);
    for (const j of ['web', 'db']) await host.createJail(j);
    show('jail -c name=web persist vnet; jail -c name=db persist vnet');

    step('attach them; web publishes port 80 of the jail on port 8080 of the host');
    const portmap = (await cli.ok(['network', 'inspect', 'default'])).includes('"portmap"');
    const mark = host.traceMark();
    await sh(cli, ['attach', 'web', ...(portmap ? ['-p', '8080:80'] : [])]);
    show(`(${host.traceSince(mark).length} FreeBSD commands for that attach)`);
    await sh(cli, ['attach', 'db']);
    await sh(cli, ['ps']);
    await host.startJailServer('web', { proto: 'tcp', port: 80 });

    step('the jails reach each other');
    const ps = JSON.parse(await cli.ok(['ps', '--json'])) as { jail: string; ips: string[] }[];
    const ipOf = (jail: string) => ps.find((p) => p.jail === jail)?.ips[0]?.split('/')[0] as string;
    const ping = await host.jexec('db', ['/usr/bin/ping', '-c', '1', '-W', '2', ipOf('web')]);
    verdict(ping.code === 0, `db pings web (${ipOf('web')})`);
    const direct = await host.request('db', { proto: 'tcp', address: ipOf('web'), port: 80 });
    verdict(direct.ok, `db connects to web:80 and web sees ${direct.ok ? direct.reply.peer : '-'}`);
    // By name: jailnetd's DNS server on the network's gateway (the runj hook would also write it
    // into the jail's resolv.conf; `jailnet attach` leaves the jail's files alone).
    const named = await host.jexec('db', ['/usr/bin/dig', '+short', '+time=2', '+tries=2', '@10.88.0.1', 'web.default']);
    verdict(named.code === 0 && named.stdout.trim() === ipOf('web'), `db finds web by name: dig @10.88.0.1 web.default -> ${named.stdout.trim() || '-'}`);

    step('the Internet through NAT');
    const out = await host.request('db', { proto: 'tcp', address: host.worldAddress, port: 80 });
    verdict(out.ok && out.reply.peer === host.em0Address, `db reaches ${host.worldAddress}:80; the server saw ${out.ok ? out.reply.peer : '-'} (em0 is ${host.em0Address})`);

    step('the published port answers');
    if (!portmap) {
      verdict(false, 'no portmap plugin was found: ports cannot be published');
    } else {
      const world = await host.request('world', { proto: 'tcp', address: host.em0Address, port: 8080 });
      verdict(world.ok, `from the Internet: ${host.em0Address}:8080 -> web:80 (web saw ${world.ok ? world.reply.peer : '-'})`);
      const fromHost = await host.request('host', { proto: 'tcp', address: host.em0Address, port: 8080 });
      verdict(fromHost.ok, `from the host itself, through jailnetd's userland proxy: ${host.em0Address}:8080 (web saw ${fromHost.ok ? fromHost.reply.peer : '-'})`);
      const hairpin = await host.request('db', { proto: 'tcp', address: host.em0Address, port: 8080 });
      verdict(hairpin.ok, `from the other jail, through the host's address: ${host.em0Address}:8080`);
    }

    step('detach and remove the jails: nothing is left behind');
    await sh(cli, ['detach', 'web']);
    await sh(cli, ['detach', 'db']);
    for (const j of ['web', 'db']) await host.removeJail(j);
    const left = (await host.interfaces()).host.map((i) => i.name).filter((n) => n.startsWith('jn') || n.startsWith('epair'));
    verdict(left.length === 0, `no epair left on the host${left.length ? ` (${left.join(', ')})` : ''}`);
    verdict((await ipamd.leases()).length === 0, 'no lease left in jailnetd');
    const anchors = (await host.runOk('pfctl', ['-a', 'jailnet', '-s', 'Anchors'])).trim();
    const table = (await host.run('pfctl', ['-a', 'jailnet/nat-default', '-t', 'masq', '-T', 'show'])).stdout.trim();
    verdict(!/pm-/.test(anchors) && table === '', 'no published-port anchor and no NAT entry left in pf');
  } finally {
    step('teardown');
    cli?.cleanup();
    await ipamd?.stop();
    await host?.destroy();
    show('emulated host removed');
  }
  process.stdout.write(failures ? `\n${failures} check(s) failed\n` : '\nall checks passed\n');
  process.exitCode = failures ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
