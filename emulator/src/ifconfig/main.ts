import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ToolError, withLock, type EmuContext, type ToolIo } from '../context';
import { getopt, UsageError } from '../getopt';
import { notifyPf } from '../pf-hook';
import { vnetOf } from '../jails';
import { metaOf } from '../meta';
import { readLinks, type LinuxLink } from '../netns';
import { formatStatus, isUp, type FormatOptions } from './format';
import { IfconfigSession } from './modify';
import { toFreeBSD, toLinux } from './names';

/** ifconfig(8): options, listings (-a, -l, -g) and the single-interface forms. */

const USAGE = `usage: ifconfig [-j jail] [-f type:format] [-G groupname] interface address_family
                [address [dest_address]] [parameters]
       ifconfig interface create
       ifconfig -a [-j jail] [-dkmuv] [-f type:format] [-G groupname]
                [-g groupname] [address_family]
       ifconfig -C
       ifconfig -g groupname
       ifconfig -l [-j jail] [-du] [address_family]
       ifconfig [-j jail] [-dkmuv] [-f type:format]`;

function usage(): never {
  throw new UsageError(USAGE, 1);
}

const FAMILIES = new Set(['inet', 'inet6', 'link', 'ether', 'lladdr']);

function parseFormat(spec: string, into: FormatOptions): void {
  for (const part of spec.split(',')) {
    const [cat, mod] = part.split(':');
    if (cat === 'inet' && (mod === 'cidr' || mod === 'dotted' || mod === 'hex')) into.inet = mod;
    else if (cat === 'inet6' && mod === 'cidr') into.inet6 = 'cidr';
    else if (cat === 'ether' && mod === 'dash') into.ether = 'dash';
    else if (cat === 'addr' && (mod === 'host' || mod === 'fqdn')) into.addr = mod;
    else if (cat === 'addr' && (mod === 'default' || mod === 'numeric')) delete into.addr;
  }
}

/** The emulated host's /etc/hosts (`<host dir>/etc/hosts`): address -> first name, the first line naming an address wins. */
function readHostsFile(ctx: EmuContext): Map<string, string> {
  const names = new Map<string, string>();
  let text = '';
  try {
    text = readFileSync(join(ctx.dir, 'etc', 'hosts'), 'utf8');
  } catch {
    return names;
  }
  for (const line of text.split('\n')) {
    const [address, name] = (line.split('#')[0] as string).trim().split(/\s+/);
    if (address && name && !names.has(address)) names.set(address, name);
  }
  return names;
}

function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(s);
}

function hasFamily(l: LinuxLink, fam: string): boolean {
  if (fam === 'inet' || fam === 'inet6') return (l.addr_info ?? []).some((a) => a.family === fam);
  return metaOf(l).kind !== 'lo';
}

export async function ifconfigMain(ctx: EmuContext, argv: string[], io: ToolIo): Promise<number> {
  // getopt errors print "ifconfig: illegal option -- x" then the usage text.
  const { opts, rest } = getopt('ifconfig', argv, 'aCdf:g:G:j:klmnuvD', USAGE);
  let all = false;
  let namesonly = false;
  let downonly = false;
  let uponly = false;
  let jail: string | undefined;
  let group: string | undefined;
  let nogroup: string | undefined;
  let cloners = false;
  const fmt: FormatOptions = {};
  if (process.env['IFCONFIG_FORMAT']) parseFormat(process.env['IFCONFIG_FORMAT'], fmt);
  for (const o of opts) {
    switch (o.opt) {
      case 'a':
        all = true;
        break;
      case 'l':
        namesonly = true;
        break;
      case 'd':
        downonly = true;
        break;
      case 'u':
        uponly = true;
        break;
      case 'j':
        jail = o.arg;
        break;
      case 'f':
        parseFormat(o.arg ?? '', fmt);
        break;
      case 'g':
        group = o.arg;
        break;
      case 'G':
        if (!all) usage();
        nogroup = o.arg;
        break;
      case 'C':
        cloners = true;
        break;
    }
  }
  if (fmt.addr) fmt.hostNames = readHostsFile(ctx);
  const vnet = vnetOf(ctx, jail, 'ifconfig');
  if (cloners) {
    io.out('bridge epair lo vxlan\n');
    return 0;
  }
  if (group !== undefined && !all) {
    // ifconfig -g GROUP: the members, one per line; nothing for an unknown group.
    const links = await readLinks(vnet.ns);
    for (const l of links) if (group === 'all' || metaOf(l).groups.includes(group)) io.out(`${toFreeBSD(l.ifname)}\n`);
    return 0;
  }
  if (namesonly && all) usage();
  if (uponly && downonly) usage();
  if (!namesonly && rest.length === 0) all = true;

  if (all || namesonly) {
    if (rest.length > 1) usage();
    let fam: string | undefined;
    if (rest.length === 1) {
      fam = rest[0] as string;
      if (!FAMILIES.has(fam)) throw new UsageError(`ifconfig: Address family '${fam}' unknown.\n${USAGE}`);
      if (fam === 'ether' || fam === 'lladdr') fam = 'link';
    }
    const links = (await readLinks(vnet.ns))
      .sort((a, b) => a.ifindex - b.ifindex)
      .filter((l) => !(downonly && isUp(l)) && !(uponly && !isUp(l)))
      .filter((l) => (fam ? hasFamily(l, fam) : true))
      .filter((l) => {
        const groups = metaOf(l).groups;
        if (group !== undefined && !groups.some((g) => globMatch(group as string, g))) return false;
        if (nogroup !== undefined && groups.some((g) => globMatch(nogroup as string, g))) return false;
        return true;
      });
    if (namesonly) io.out(`${links.map((l) => toFreeBSD(l.ifname)).join(' ')}\n`);
    else for (const l of links) io.out(formatStatus(l, links, fam ? { ...fmt, family: fam as 'inet' | 'inet6' | 'link' } : fmt));
    return 0;
  }

  const ifname = rest[0] as string;
  let words = rest.slice(1);
  if (words.length > 0 && FAMILIES.has(words[0] as string) && words.length === 1) {
    // `ifconfig IF inet`: the status limited to that family.
    const fam = words[0] === 'inet' || words[0] === 'inet6' ? words[0] : 'link';
    const links = await readLinks(vnet.ns);
    const l = links.find((x) => x.ifname === toLinux(ifname));
    if (!l) throw new ToolError(`interface ${ifname} does not exist`);
    io.out(formatStatus(l, links, { ...fmt, family: fam }));
    return 0;
  }
  if (words.length === 0) {
    const links = await readLinks(vnet.ns);
    const l = links.find((x) => x.ifname === toLinux(ifname));
    if (!l) throw new ToolError(`interface ${ifname} does not exist`);
    io.out(formatStatus(l, links, fmt));
    return 0;
  }
  words = [...words];
  const session = new IfconfigSession(ctx, vnet);
  try {
    const r = await withLock(ctx, 'state', () => session.run(ifname, words));
    io.out(r.stdout);
  } finally {
    // Outside the state lock: the emulated pf takes its own lock and may recompile its rules.
    if (session.needsPfRefresh) await notifyPf(ctx);
  }
  return 0;
}
