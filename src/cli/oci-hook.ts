import { CniCode, CniError } from '../cni/errors';
import { jailName, networkName } from '../freebsd/names';
import { parsePortSpec, type PortMapping } from './ports';

/**
 * runj's OCI hooks: `createRuntime` attaches, `poststop` detaches (after runj removed the jail).
 * Each gets the OCI state on stdin; the jail's name is the state's `id`. Networks, ports and
 * static addresses come from the hook's own arguments, else from annotations: jailnet's
 * (`org.jailnet.networks`, `org.jailnet.ports`, `org.jailnet.ips`) or nerdctl's
 * (`nerdctl/networks`, `nerdctl/ports`).
 */

export interface OciState {
  ociVersion?: string;
  id: string;
  status?: string;
  pid?: number;
  bundle?: string;
  annotations?: Record<string, string>;
}

export const ANNOTATION_NETWORKS = 'org.jailnet.networks';
export const ANNOTATION_PORTS = 'org.jailnet.ports';
export const ANNOTATION_IPS = 'org.jailnet.ips';
/** The jail's DNS name on its networks (docs/dns.md); nerdctl's container name otherwise. */
export const ANNOTATION_NAME = 'org.jailnet.name';
export const ANNOTATION_ALIASES = 'org.jailnet.aliases';
/** "false": the hook leaves the jail's /etc/resolv.conf alone. */
export const ANNOTATION_RESOLV_CONF = 'org.jailnet.resolv-conf';
export const NERDCTL_NAME = 'nerdctl/name';
export const NERDCTL_NETWORKS = 'nerdctl/networks';
export const NERDCTL_PORTS = 'nerdctl/ports';
export const DEFAULT_NETWORK = 'default';

export function parseOciState(text: string): OciState {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CniError(CniCode.DecodingFailure, `OCI state on stdin is not JSON: ${(err as Error).message}`, 'runj passes the container state on the hook\'s stdin');
  }
  const s = doc as Partial<OciState> | null;
  if (!s || typeof s !== 'object' || typeof s.id !== 'string') throw new CniError(CniCode.DecodingFailure, 'OCI state on stdin has no "id"');
  jailName(s.id);
  if (s.annotations !== undefined && (typeof s.annotations !== 'object' || s.annotations === null)) throw new CniError(CniCode.DecodingFailure, 'OCI state: "annotations" must be an object');
  return s as OciState;
}

/** A list annotation: a JSON array of strings, or items separated by commas. */
function nameList(value: string, key: string): string[] {
  const text = value.trim();
  if (text.startsWith('[')) {
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new CniError(CniCode.DecodingFailure, `annotation ${key} must be a JSON list of strings`);
    return parsed;
  }
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Port annotations: jailnet's "8080:80/tcp@NETWORK,..." or a JSON list; nerdctl's JSON list (HostPort...). */
function portList(value: string, key: string): PortMapping[] {
  const text = value.trim();
  if (!text.startsWith('[')) return text.split(',').filter((s) => s.trim()).flatMap((s) => parsePortSpec(s));
  const parsed = JSON.parse(text) as Record<string, unknown>[];
  if (!Array.isArray(parsed)) throw new CniError(CniCode.DecodingFailure, `annotation ${key} must be a JSON list`);
  return parsed.map((p, i) => {
    const hostPort = p.hostPort ?? p.HostPort;
    const containerPort = p.containerPort ?? p.ContainerPort;
    const protocol = String(p.protocol ?? p.Protocol ?? 'tcp').toLowerCase();
    const hostIP = p.hostIP ?? p.HostIP;
    const network = p.network;
    if (typeof hostPort !== 'number' || typeof containerPort !== 'number' || (protocol !== 'tcp' && protocol !== 'udp') || (network !== undefined && typeof network !== 'string')) {
      throw new CniError(CniCode.DecodingFailure, `annotation ${key}[${i}] needs numeric hostPort and containerPort, protocol tcp or udp, and a network name if any`);
    }
    if (typeof network === 'string') networkName(network);
    return { hostPort, containerPort, protocol, ...(typeof hostIP === 'string' && hostIP !== '' ? { hostIP } : {}), ...(typeof network === 'string' ? { network } : {}) };
  });
}

export interface HookRequest {
  networks: string[];
  ports: PortMapping[];
  /** Static addresses, each for the network whose subnet holds it. */
  ips: string[];
  /** DNS names besides the jail's own (the aliases capability), the first one the name PTR gives. */
  names: string[];
  /** Whether to write the jail's /etc/resolv.conf. */
  resolvConf: boolean;
}

export interface HookArgs {
  networks?: string[];
  ports?: PortMapping[];
  ips?: string[];
  name?: string;
  aliases?: string[];
  noResolvConf?: boolean;
}

export function hookRequest(state: OciState, args: HookArgs): HookRequest {
  const argNetworks = args.networks ?? [];
  const argPorts = args.ports ?? [];
  const argIps = args.ips ?? [];
  const a = state.annotations ?? {};
  const networksText = a[ANNOTATION_NETWORKS] ?? a[NERDCTL_NETWORKS];
  const portsText = a[ANNOTATION_PORTS] ?? a[NERDCTL_PORTS];
  const ipsText = a[ANNOTATION_IPS];
  const networks = argNetworks.length ? argNetworks : networksText ? nameList(networksText, a[ANNOTATION_NETWORKS] ? ANNOTATION_NETWORKS : NERDCTL_NETWORKS) : [DEFAULT_NETWORK];
  const ports = argPorts.length ? argPorts : portsText ? portList(portsText, a[ANNOTATION_PORTS] ? ANNOTATION_PORTS : NERDCTL_PORTS) : [];
  const ips = argIps.length ? argIps : ipsText ? nameList(ipsText, ANNOTATION_IPS) : [];
  const name = args.name ?? a[ANNOTATION_NAME] ?? a[NERDCTL_NAME];
  const aliases = args.aliases?.length ? args.aliases : a[ANNOTATION_ALIASES] ? nameList(a[ANNOTATION_ALIASES], ANNOTATION_ALIASES) : [];
  const names = [...(name ? [name.trim()] : []), ...aliases];
  const resolvConf = !args.noResolvConf && a[ANNOTATION_RESOLV_CONF]?.trim().toLowerCase() !== 'false';
  return { networks: networks.filter((n) => n !== 'none' && n !== 'host'), ports, ips, names, resolvConf };
}
