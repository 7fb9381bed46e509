import { readStdin } from '../cni/stdin';
import { log } from '../log/logger';
import { attach, detach, type Caller } from './attachments';
import { bundleRoot, resolvConfOf, writeJailResolvConf } from './jail-resolv-conf';
import { hookRequest, parseOciState } from './oci-hook';
import { cliPaths } from './paths';
import { parsePortSpec, type PortMapping } from './ports';

/**
 * `jailnet hook create-runtime|poststop [-n NETWORK]... [-p PORT[@NETWORK]]... [--ip IP]...
 * [--name NAME] [--alias NAME]... [--[no-]resolv-conf]`: the entry runj's hooks call. It reads its
 * own arguments (main.ts hands them over before the command grammar of commands.ts), so that
 * `jailnet hook poststop --no-resolv-conf` and the like keep working as runj configurations have them.
 */
export async function runHook(args: string[]): Promise<void> {
  return runHookWith(args, (await readStdin(process.stdin)).toString('utf8'), { env: process.env });
}

/**
 * The hook with its OCI state and environment given: in the `jailnet` process (runHook), or in
 * jailnetd for its thin client (daemon/api/hook.ts, src/cli/hook-client.ts). `caller.env` is the
 * hook's environment: where the network files, the cache and the plugins are, and the plugins' own.
 */
export async function runHookWith(args: readonly string[], stateText: string, caller: Caller): Promise<void> {
  const env = caller.env;
  const [phase, ...rest] = args;
  const networks: string[] = [];
  const ports: PortMapping[] = [];
  const ips: string[] = [];
  const aliases: string[] = [];
  let name: string | undefined;
  let noResolvConf = false;
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    const value = rest[i + 1];
    if (flag === '--no-resolv-conf' || flag === '--resolv-conf') {
      noResolvConf = flag === '--no-resolv-conf';
      continue;
    }
    if ((flag === '-n' || flag === '--network') && value) networks.push(value);
    else if ((flag === '-p' || flag === '--publish') && value) ports.push(...parsePortSpec(value));
    else if (flag === '--ip' && value) ips.push(value);
    else if (flag === '--name' && value) name = value;
    else if (flag === '--alias' && value) aliases.push(value);
    else throw new Error(`hook: unexpected argument "${flag}" (use -n NETWORK, -p PORT[@NETWORK], --ip IP, --name NAME, --alias NAME and --no-resolv-conf)`);
    i++;
  }
  const state = parseOciState(stateText);
  const paths = cliPaths(env);
  if (phase === 'create-runtime' || phase === 'createRuntime') {
    const req = hookRequest(state, { networks, ports, ips, ...(name !== undefined ? { name } : {}), aliases, noResolvConf });
    if (!req.networks.length) return;
    // createRuntime runs before anything runs in the jail (OCI status "creating"): a new jail.
    const attached = await attach(paths, { jail: state.id, networks: req.networks, ports: req.ports, ips: req.ips, names: req.names, newJail: state.status === 'creating' }, caller);
    const dns = req.resolvConf ? resolvConfOf(attached.map((a) => a.result)) : undefined;
    if (!dns) return;
    const root = state.bundle ? bundleRoot(state.bundle) : undefined;
    if (!root) {
      log.warn(`hook: jail ${state.id} has no bundle config.json${state.bundle ? ` in ${state.bundle}` : ''}; its resolv.conf is not written`);
      return;
    }
    try {
      writeJailResolvConf(root, dns);
    } catch (err) {
      // A failed createRuntime hook fails the container's start: leave no attachment behind.
      await detach(paths, state.id, undefined, caller).catch((e: unknown) => log.warn(`cleanup: ${(e as Error).message}`));
      throw err;
    }
  } else if (phase === 'poststop') {
    // runj runs poststop after the jail is gone; detaching needs only the cache.
    await detach(paths, state.id, undefined, caller);
  } else {
    throw new Error(`hook: unknown phase "${phase ?? ''}" (create-runtime or poststop)`);
  }
}
