import { CniCode, CniError } from '../cni/errors';
import { CommandError } from '../freebsd/exec';
import { isNoSuchInterface } from '../freebsd/errors';
import { configureInterface, createBridge, destroyInterface, ifw, showInterface, type IfWord } from '../freebsd/ifconfig';
import { requireNoHostConflict } from '../link/host-conflicts';
import type { InterfaceInfo } from '../freebsd/parse/ifconfig';
import { enableForwarding } from '../link/forwarding';
import { known } from '../link/known';
import { BRIDGE_GROUP } from '../link/naming';
import { addressOf, canonicalAddress, familyOf, inSubnet } from '../net/cidr';
import type { Rollback } from '../util/rollback';
import { log } from '../log/logger';
import { withFileLock } from '../util/file-lock';

/**
 * The host bridge of a network: found, or created on first use (`ifconfig bridge create`, then
 * one call that names and configures it), and joined by a host end. Looking at the bridge,
 * creating it, joining it, and destroying it again when a failed first ADD leaves it unused all
 * happen under one lock per bridge, so a bridge is never destroyed under an ADD that is about to
 * join it. (Two hosts' worth of safety: a bridge created by something else concurrently is
 * handled too; the one whose rename fails destroys its own and uses the winner's.)
 */

export interface BridgeSetup {
  name: string;
  network: string;
  /** "gateway/prefix" addresses the bridge must hold (isGateway). */
  gatewayCidrs: string[];
  mtu?: number;
  promisc: boolean;
  forceAddress: boolean;
}

export interface ReadyBridge {
  name: string;
  mac?: string;
  /** Changes still to make on the bridge (missing gateway addresses, replaced ones), one call each. */
  pending: BridgeChange[];
  /** Members of an existing bridge when it was looked at (decides whether its changes may be undone). */
  membersBefore: string[];
  /** Taken from what an earlier ADD left (src/link/known.ts), not read from the host. */
  remembered?: boolean;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** One ifconfig call on an existing bridge, and the calls that take it back. */
export interface BridgeChange {
  words: IfWord[];
  undo: IfWord[][];
  /** The gateway addresses ("gateway/prefix") the call adds. */
  adds?: string[];
}

function isRenameConflict(err: unknown): boolean {
  return err instanceof CommandError && /SIOCSIFNAME/.test(err.stderr) && /File exists/.test(err.stderr);
}

function addressWords(cidrs: readonly string[]): IfWord[][] {
  return cidrs.map((c) => (familyOf(c) === 4 ? [ifw.inetAlias(c)] : [ifw.inet6Enable(), ifw.inet6(c)]));
}

/**
 * The bridge as ADD finds it before changing anything (`ifconfig BRIDGE`, read-only): the plan
 * for an existing bridge, or undefined when it is to be created. Refuses (code 7) a name taken
 * by an interface that is not a bridge (em0, lo0, an epair end) and, without forceAddress, a
 * bridge with another address in a gateway's subnet. When the bridge is to be created or to
 * get a gateway it lacks, the subnets it would route are compared with the host's own addresses
 * and routes (`ifconfig` and `netstat -rnW`, src/link/host-conflicts.ts): only then, not on
 * every ADD.
 */
export async function lookAtBridge(setup: BridgeSetup, subnets: readonly string[]): Promise<ReadyBridge | undefined> {
  // An earlier ADD left the bridge with exactly these gateways (src/link/known.ts): nothing to
  // read, nothing to change. If it has gone since, joining it fails and attachToBridge looks.
  const remembered = known.bridge(setup.name);
  if (remembered && sameSet(remembered.gateways, setup.gatewayCidrs)) {
    return { name: setup.name, ...(remembered.mac ? { mac: remembered.mac } : {}), pending: [], membersBefore: [], remembered: true };
  }
  const existing = await showInterface(setup.name);
  const bridge = existing ? useExisting(setup, existing) : undefined;
  await requireNoHostConflict(setup.network, bridge ? bridge.pending.flatMap((c) => c.adds ?? []) : subnets, setup.name);
  return bridge;
}

/**
 * Adds `member` to the bridge ADD looked at (`seen`), or creates the bridge when there was none.
 * A bridge that vanished in between (a concurrent first ADD that failed took back the bridge it
 * had made) is created again.
 */
export function attachToBridge(setup: BridgeSetup, member: string, options: JoinOptions, rollback: Rollback, seen: ReadyBridge | undefined, subnets: readonly string[]): Promise<ReadyBridge> {
  return withFileLock(lockName(setup.name), async () => {
    if (seen) {
      try {
        await joinBridge(seen, member, options, rollback);
        remember(setup, seen);
        return seen;
      } catch (err) {
        if (seen.remembered) known.forgetBridge(setup.name);
        if (!isNoSuchInterface(err) || (await showInterface(setup.name))) throw err;
      }
    }
    const existing = await showInterface(setup.name);
    const bridge = existing ? useExisting(setup, existing) : undefined;
    // As lookAtBridge does before a bridge is created or given a gateway.
    if (!bridge || bridge.pending.length) await requireNoHostConflict(setup.network, bridge ? bridge.pending.flatMap((c) => c.adds ?? []) : subnets, setup.name);
    const ready = bridge ?? (await create(setup, member, rollback));
    await joinBridge(ready, member, options, rollback);
    remember(setup, ready);
    return ready;
  });
}

/** The bridge holds the gateways now: later ADDs need not look (undone with the changes, if the ADD fails). */
function remember(setup: BridgeSetup, bridge: ReadyBridge): void {
  if (bridge.remembered) return;
  known.setBridge(setup.name, { gateways: [...setup.gatewayCidrs], ...(bridge.mac ? { mac: bridge.mac } : {}) });
}

function lockName(bridge: string): string {
  return `bridge-${bridge}`;
}

function useExisting(setup: BridgeSetup, info: InterfaceInfo): ReadyBridge {
  if (!info.groups.includes('bridge')) {
    throw new CniError(CniCode.InvalidNetworkConfig, `network configuration: field "bridge": interface ${setup.name} exists and is not a bridge`, 'name a bridge, or a name that is not in use (jailnet creates the bridge)');
  }
  const held = [...info.inet.map((a) => `${a.address}/${a.prefixlen}`), ...info.inet6.map((a) => `${a.address}/${a.prefixlen}`)];
  const missing: string[] = [];
  const remove: BridgeChange[] = [];
  for (const gw of setup.gatewayCidrs) {
    const want = canonicalAddress(addressOf(gw));
    if (held.some((h) => canonicalAddress(addressOf(h)) === want)) continue;
    const conflicting = held.find((h) => familyOf(h) === familyOf(gw) && !h.startsWith('fe80:') && inSubnet(addressOf(h), gw));
    if (conflicting) {
      if (!setup.forceAddress) {
        throw new CniError(
          CniCode.InvalidNetworkConfig,
          `bridge ${setup.name} has ${conflicting} in the subnet of gateway ${gw}`,
          'fix the IPAM range or the bridge address, or set "forceAddress": true to replace it',
        );
      }
      remove.push(
        familyOf(gw) === 4
          ? { words: [ifw.inetDelete(addressOf(conflicting))], undo: [[ifw.inetAlias(conflicting)]] }
          : { words: [ifw.inet6Delete(addressOf(conflicting))], undo: [[ifw.inet6(conflicting)]] },
      );
    }
    missing.push(gw);
  }
  // IPv6 was off on the bridge (nd6 IFDISABLED, as a bridge created without an IPv6 gateway is):
  // adding the first IPv6 gateway turns it on, and its undo turns it off again.
  let ipv6Off = /IFDISABLED/.test(info.other.nd6 ?? '');
  const add = missing.map((gw): BridgeChange => {
    if (familyOf(gw) === 4) return { words: [ifw.inetAlias(gw)], undo: [[ifw.inetDelete(addressOf(gw))]], adds: [gw] };
    const undo: IfWord[][] = [[ifw.inet6Delete(addressOf(gw))]];
    if (ipv6Off) undo.push([ifw.inet6Disable()]);
    ipv6Off = false;
    return { words: [ifw.inet6Enable(), ifw.inet6(gw)], undo, adds: [gw] };
  });
  const out: ReadyBridge = { name: setup.name, pending: [...remove, ...add], membersBefore: info.members.map((m) => m.name) };
  if (info.ether) out.mac = info.ether;
  return out;
}

async function create(setup: BridgeSetup, member: string, rollback: Rollback): Promise<ReadyBridge> {
  const temp = await createBridge();
  const v4 = setup.gatewayCidrs.filter((c) => familyOf(c) === 4);
  const v6 = setup.gatewayCidrs.filter((c) => familyOf(c) === 6);
  const words: IfWord[] = [ifw.name(setup.name), ifw.group(BRIDGE_GROUP), ifw.description(`jailnet network ${setup.network}`)];
  if (setup.mtu !== undefined) words.push(ifw.mtu(setup.mtu));
  if (setup.promisc) words.push(ifw.promisc());
  if (v4[0]) words.push(ifw.inet(v4[0]));
  words.push(ifw.up());
  try {
    await configureInterface(temp, words);
  } catch (err) {
    if (isRenameConflict(err)) {
      // Someone else named a bridge so first; ours still has its bridgeN name.
      await destroyInterface(temp).catch(() => false);
      log.debug(`bridge ${setup.name} was created concurrently; using it`, { ours: temp });
      const winner = await showInterface(setup.name);
      if (winner) return useExisting({ ...setup, forceAddress: false }, winner);
      throw err;
    }
    // The rename is applied when its word is read: after it, ours is setup.name (nobody else may
    // create that name under our lock) and bridgeN may already be someone else's new bridge.
    if (!(await destroyInterface(setup.name).catch(() => false))) await destroyInterface(temp).catch(() => false);
    throw err;
  }
  rollback.push(`bridge ${setup.name}`, () => withFileLock(lockName(setup.name), () => destroyIfUnused(setup.name, member)));
  for (const words6 of addressWords([...v4.slice(1), ...v6])) await configureInterface(setup.name, words6);
  // A gateway must forward. (rc.conf gateway_enable does the same at boot.) Not undone: host-wide.
  if (v4.length || v6.length) await enableForwarding([...(v4.length ? [4 as const] : []), ...(v6.length ? [6 as const] : [])]);
  const info = await showInterface(setup.name);
  const out: ReadyBridge = { name: setup.name, pending: [], membersBefore: [] };
  if (info?.ether) out.mac = info.ether;
  return out;
}

/** Destroys the bridge if no member but `ours` is left (undo of a creation that a failed ADD made). */
async function destroyIfUnused(name: string, ours: string): Promise<void> {
  known.forgetBridge(name);
  const info = await showInterface(name);
  if (info && info.members.every((m) => m.name === ours)) await destroyInterface(name);
}

export interface JoinOptions {
  /** Make the member `private` (portIsolation). */
  isolate: boolean;
  promisc: boolean;
}

/**
 * Adds the host end to the bridge, with the bridge's pending address changes and options. The
 * address changes made here are undone if the ADD fails later, unless another member joined the
 * bridge in the meantime: that attachment found the gateway in place and counts on it.
 */
async function joinBridge(bridge: ReadyBridge, member: string, options: JoinOptions, rollback: Rollback): Promise<void> {
  const [first, ...rest] = bridge.pending;
  const words: IfWord[] = [ifw.addm(member)];
  if (options.isolate) words.push(ifw.private(member));
  if (options.promisc) words.push(ifw.promisc());
  words.push(ifw.up());
  if (first) words.push(...first.words);
  const done: BridgeChange[] = [];
  if (first) {
    rollback.push(`address changes on bridge ${bridge.name}`, () =>
      withFileLock(lockName(bridge.name), () => undoBridgeChanges(bridge, member, done)),
    );
  }
  await configureInterface(bridge.name, words);
  if (first) done.push(first);
  for (const more of rest) {
    await configureInterface(bridge.name, more.words);
    done.push(more);
  }
}

async function undoBridgeChanges(bridge: ReadyBridge, member: string, done: readonly BridgeChange[]): Promise<void> {
  if (done.length === 0) return;
  known.forgetBridge(bridge.name);
  const info = await showInterface(bridge.name);
  if (!info) return;
  const joined = info.members.map((m) => m.name).filter((m) => m !== member && !bridge.membersBefore.includes(m));
  if (joined.length) {
    log.warn(`rollback: keeping the address changes on bridge ${bridge.name}: ${joined.join(', ')} joined it since and may use them`);
    return;
  }
  for (const change of [...done].reverse()) for (const words of change.undo) await configureInterface(bridge.name, words);
}
