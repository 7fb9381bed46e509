import { readStdin } from '../cni/stdin';
import { attach, detach } from './attachments';
import { hookRequest, parseOciState } from './oci-hook';
import { cliPaths } from './paths';
import { parsePortSpec, type PortMapping } from './ports';

/**
 * `jailnet hook create-runtime|poststop [-n NETWORK]... [-p PORT[@NETWORK]]... [--ip IP]...`:
 * the entry runj's hooks call, kept free of yargs so that it starts fast (it runs once per jail
 * start and stop).
 */
export async function runHook(args: string[]): Promise<void> {
  const [phase, ...rest] = args;
  const networks: string[] = [];
  const ports: PortMapping[] = [];
  const ips: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    const value = rest[i + 1];
    if ((flag === '-n' || flag === '--network') && value) networks.push(value);
    else if ((flag === '-p' || flag === '--publish') && value) ports.push(...parsePortSpec(value));
    else if (flag === '--ip' && value) ips.push(value);
    else throw new Error(`hook: unexpected argument "${flag}" (use -n NETWORK, -p PORT[@NETWORK] and --ip IP)`);
    i++;
  }
  const state = parseOciState((await readStdin(process.stdin)).toString('utf8'));
  const paths = cliPaths();
  if (phase === 'create-runtime' || phase === 'createRuntime') {
    const req = hookRequest(state, networks, ports, ips);
    if (req.networks.length) await attach(paths, { jail: state.id, networks: req.networks, ports: req.ports, ips: req.ips });
  } else if (phase === 'poststop') {
    // runj runs poststop after the jail is gone; detaching needs only the cache.
    await detach(paths, state.id);
  } else {
    throw new Error(`hook: unknown phase "${phase ?? ''}" (create-runtime or poststop)`);
  }
}
