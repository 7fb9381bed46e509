import { createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';
import { cniRunner } from './cni-on-host';
import { startJailnetd, type TestDaemon } from './jailnetd';

/** What a plugin suite runs against: an emulated host, its jailnetd, and a CNI runner for it. */
export interface PluginHost {
  host: EmulatedHost;
  ipamd: TestDaemon;
  cni: CniRunner;
}

export type CniRunner = ReturnType<typeof cniRunner>;

/**
 * Makes the suite's emulated host with jailnetd (inside the host's namespace, with `daemonArgs`)
 * before its tests, then runs `setup` with them
 * (which keeps them and adds the suite's own jails, servers or pf rules); stops jailnetd and
 * removes the host after the tests, whatever happened.
 */
export function withPluginHost(setup: (s: PluginHost) => Promise<void> | void, timeoutMs = 60_000, daemonArgs: string[] = []): void {
  let made: Partial<PluginHost> = {};
  beforeAll(async () => {
    const host = await createEmulatedHost();
    made = { host };
    const ipamd = await startJailnetd(host.env, { netns: host.hostNs, args: daemonArgs });
    made = { host, ipamd, cni: cniRunner(host) };
    await setup(made as PluginHost);
  }, timeoutMs);
  afterAll(async () => {
    await made.ipamd?.stop();
    await made.host?.destroy();
  });
}

/** A bridge network NAME on bridge `br-NAME`, its jails' default gateway, addresses from `subnet` by the suite's jailnetd. */
export function bridgeNetwork(ipamd: TestDaemon, name: string, subnet: string, extra: object = {}) {
  return {
    cniVersion: '1.0.0',
    name,
    type: 'bridge',
    bridge: `br-${name}`,
    isDefaultGateway: true,
    ipam: ipamd.ipam([[{ subnet }]]),
    ...extra,
  };
}
