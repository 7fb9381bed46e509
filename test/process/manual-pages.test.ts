import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FLAGS } from '../../daemon/config';
import { CniCode } from '../../src/cni/errors';
import * as ociHook from '../../src/cli/oci-hook';
import { bridgeConfigSchema, epairConfigSchema } from '../../src/config/schemas/bridge';
import { natConfigSchema, portmapConfigSchema } from '../../src/config/schemas/chained';
import { netConfSchema } from '../../src/config/schemas/cni';
import { conflistSchema } from '../../src/config/schemas/conflist';
import { firewallConfigSchema, loopbackConfigSchema, tuningConfigSchema } from '../../src/config/schemas/dropin';
import { ipamConfigSchema } from '../../src/config/schemas/ipam';
import { jailnetdConfigSchema } from '../../src/config/schemas/ipam-api';

/**
 * The manual pages (man/): clean under `mandoc -T lint`, and describing the product as it is.
 * Every command and flag of `jailnet` (from its command declarations, src/cli/commands.ts, through the built CLI's
 * --help), every flag, configuration field and rc.conf knob of jailnetd, every field of every
 * plugin's JSON schema, every annotation and environment variable and CNI error code in use must
 * be in its page, and nothing the product does not have: so that the pages cannot fall behind.
 */

const root = join(__dirname, '..', '..');
const MAN = join(root, 'man');
const JAILNET = join(root, 'dist/bin/jailnet');
const PAGES = ['jailnet.8', 'jailnetd.8', 'jailnet-networks.5', 'jailnet-hooks.7'];

/** CNI type -> the schema its configuration is validated with. One entry per plugins/<type>.ts. */
const PLUGIN_SCHEMAS: Record<string, object> = {
  bridge: bridgeConfigSchema,
  epair: epairConfigSchema,
  nat: natConfigSchema,
  portmap: portmapConfigSchema,
  'jailnet-ipam': ipamConfigSchema,
  'host-local': ipamConfigSchema,
  firewall: firewallConfigSchema,
  tuning: tuningConfigSchema,
  loopback: loopbackConfigSchema,
};

/**
 * Pages of a FreeBSD system the pages refer to: base, plus pkg(8) and curl(1) of their packages.
 * Debian has none of them, so `mandoc -T lint` reports each as "referenced manual not found";
 * that is the one message allowed, and only for these names (and for our own pages, when man/
 * has them).
 */
const FREEBSD_PAGES = new Set(['curl(1)', 'epair(4)', 'if_bridge(4)', 'pf(4)', 'vxlan(4)', 'newsyslog.conf(5)', 'pf.conf(5)', 'rc.conf(5)', 'resolv.conf(5)', 'daemon(8)', 'ifconfig(8)', 'jail(8)', 'jls(8)', 'netstat(1)', 'newsyslog(8)', 'pfctl(8)', 'pkg(8)', 'rc.subr(8)', 'syslogd(8)']);

/** Variables read by the executables that are not for installed systems. */
const TEST_ONLY_ENV = new Set([
  // The test switches, which the installed build does not have (src/util/test-switches.ts,
  // docs/security.md): the emulated host's tool root and the lock directory, and the build flag.
  'JAILNET_FREEBSD_ROOT',
  'JAILNET_RUN_DIR',
  'JAILNET_TEST_SWITCHES',
]);

const page = (name: string): string => readFileSync(join(MAN, name), 'utf8');

/** The lines of each `.Sh` section, by title. */
function sections(text: string, macro = 'Sh'): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    const head = new RegExp(`^\\.${macro} (.+)$`).exec(line);
    if (head) out.set((head[1] as string).trim(), (current = []));
    else if (macro === 'Ss' && line.startsWith('.Sh ')) current = undefined;
    else current?.push(line);
  }
  return out;
}

const subsections = (lines: string[]) => sections(lines.join('\n'), 'Ss');

const MACRO = /^[A-Z][a-z][a-z]?$/;
const DELIMITER = /^[,.;:()[\]|]$/;

/** The words each macro applies to on the `.It` lines: `.It Fl n Ar x , Fl -network` -> Fl: n, -network. */
function itemWords(lines: string[], macro: string): string[] {
  const words: string[] = [];
  for (const line of lines) {
    if (!line.startsWith('.It ')) continue;
    let current = '';
    for (const raw of line.slice(4).split(/\s+/)) {
      const token = raw.replace(/\\&/g, '');
      if (MACRO.test(token)) current = token;
      else if (token && !DELIMITER.test(token) && current === macro) words.push(token);
    }
  }
  return words;
}

function section(pageName: string, title: string): string[] {
  const s = sections(page(pageName)).get(title);
  if (!s) throw new Error(`${pageName} has no section ${title}`);
  return s;
}

/** Field paths of a JSON schema: `a.b`, array items as `[]`; leaves are what a page must name. */
function fieldPaths(schema: object): { leaves: Set<string>; all: Set<string> } {
  type Node = { properties?: Record<string, Node>; type?: string; items?: Node };
  const leaves = new Set<string>();
  const all = new Set<string>();
  const objectish = (n: Node | undefined): boolean => !!n && (!!n.properties || (n.type === 'array' && objectish(n.items)));
  const walk = (node: Node, path: string): void => {
    all.add(path);
    if (node.properties) for (const [k, sub] of Object.entries(node.properties)) walk(sub, `${path}.${k}`);
    else if (node.type === 'array' && objectish(node.items)) walk(node.items as Node, `${path}[]`);
    else leaves.add(path);
  };
  for (const [k, sub] of Object.entries((schema as Node).properties ?? {})) walk(sub, k);
  return { leaves, all };
}

/** One `jailnet ... --help`, parsed: subcommands, options (as -x / --long), positionals. */
function help(path: string[]): { commands: string[][]; options: string[]; positionals: string[] } {
  const text = execFileSync(JAILNET, [...path, '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  const out = { commands: [] as string[][], options: [] as string[], positionals: [] as string[] };
  let block = '';
  for (const line of text.split('\n')) {
    if (/^\S.*:$/.test(line)) block = line;
    else if (block === 'Commands:') {
      const m = /^ {2}jailnet ((?:[a-z][\w-]*)(?: [a-z][\w-]*)*)/.exec(line);
      if (m) out.commands.push((m[1] as string).split(' '));
    } else if (block === 'Options:') {
      const m = /^ {2,6}(?:(-\w), )?(--[\w-]+)/.exec(line);
      if (m && m[2] !== '--help') out.options.push(...([m[1], m[2]].filter(Boolean) as string[]));
    } else if (block === 'Positionals:') {
      const m = /^ {2}(\w+)/.exec(line);
      if (m) out.positionals.push(m[1] as string);
    }
  }
  return out;
}

/** Every leaf command of `jailnet`, from the built CLI's help, with its options and positionals. */
function jailnetCommands(): Map<string, { options: string[]; positionals: string[] }> {
  const leaves = new Map<string, { options: string[]; positionals: string[] }>();
  const visit = (path: string[]): void => {
    const h = help(path);
    const deeper = h.commands.filter((c) => c.length > path.length);
    if (path.length && deeper.length === 0) leaves.set(path.join(' '), { options: h.options, positionals: h.positionals });
    for (const c of deeper) visit(c);
  };
  visit([]);
  return leaves;
}

beforeAll(() => {
  if (!existsSync(JAILNET)) throw new Error('dist/bin/jailnet is missing: run `npm run build` first (scripts/test.sh does)');
});

describe('mandoc -T lint', () => {
  test.each(PAGES)('%s is clean', (name) => {
    const r = spawnSync('mandoc', ['-T', 'lint', join(MAN, name)], { encoding: 'utf8' });
    if (r.error) throw new Error(`mandoc cannot be run (${r.error.message}): install Debian's mandoc (scripts/install-deps.sh does)`);
    const ours = new Set(readdirSync(MAN).map((f) => f.replace(/\.(\d)$/, '($1)')));
    const problems = `${r.stdout}${r.stderr}`
      .split('\n')
      .filter((line) => line !== '')
      // About the machine's own manual database, not about the page.
      .filter((line) => !/^mandoc: outdated mandoc\.db lacks \S+ entry, run makewhatis \S+$/.test(line))
      .filter((line) => {
        const m = /: STYLE: referenced manual not found: Xr (\S+) (\d)(?: \(\d+ times\))?$/.exec(line);
        const ref = m ? `${m[1]}(${m[2]})` : '';
        return !(line.startsWith(`mandoc: ${join(MAN, name)}:`) && (FREEBSD_PAGES.has(ref) || ours.has(ref)));
      });
    expect(problems).toEqual([]);
    expect(r.status === 0 || r.status === 1).toBe(true);
  });
});

describe('every page', () => {
  test.each(PAGES)('%s has EXAMPLES, FILES and SEE ALSO with the pages of the issue', (name) => {
    const s = sections(page(name));
    expect(s.has('EXAMPLES')).toBe(true);
    expect(s.has('FILES')).toBe(true);
    const seeAlso = (s.get('SEE ALSO') ?? []).join('\n');
    for (const [n, sec] of [['pf.conf', 5], ['jail', 8], ['if_bridge', 4], ['epair', 4], ['vxlan', 4]]) expect(seeAlso).toContain(`.Xr ${n} ${sec}`);
  });
});

describe('jailnet(8) has every command and flag of the command line', () => {
  const commands = jailnetCommands();
  const documented = subsections(section('jailnet.8', 'COMMANDS'));

  test('one subsection per command, and no other', () => {
    expect(commands.size).toBeGreaterThan(10);
    expect([...documented.keys()].sort()).toEqual([...commands.keys()].sort());
  });

  test.each([...commands.keys()])('%s: its flags and arguments, and no others', (name) => {
    const c = commands.get(name) as { options: string[]; positionals: string[] };
    const lines = documented.get(name) ?? [];
    const flags = itemWords(lines, 'Fl').map((f) => `-${f}`);
    expect([...new Set(flags)].sort()).toEqual([...new Set(c.options)].sort());
    const text = lines.join('\n');
    for (const p of c.positionals) expect(text).toMatch(new RegExp(`\\.Ar ${p.replace(/s$/, '')}`));
  });
});

describe('jailnetd(8)', () => {
  test('every flag of daemon/config.ts, and no other', () => {
    const flags = itemWords(section('jailnetd.8', 'OPTIONS'), 'Fl').map((f) => `-${f}`);
    const expected = Object.entries(FLAGS).flatMap(([long, f]) => [`--${long}`, ...('short' in f ? [`-${f.short}`] : [])]);
    expect([...new Set(flags)].sort()).toEqual(expected.sort());
  });

  test('every field of the configuration file, and no other', () => {
    const ss = subsections(section('jailnetd.8', 'OPTIONS'));
    const fields = itemWords(ss.get('Configuration file') ?? [], 'Va');
    const { leaves, all } = fieldPaths(jailnetdConfigSchema);
    expect(fields.filter((f) => !all.has(f))).toEqual([]);
    expect([...leaves].filter((f) => !fields.includes(f))).toEqual([]);
  });

  test('every rc.conf variable of the rc.d script, and no other', () => {
    const knobs = [...readFileSync(join(root, 'conf/rc.d/jailnetd'), 'utf8').matchAll(/^: \$\{(jailnetd_\w+):=/gm)].map((m) => m[1]);
    const ss = subsections(section('jailnetd.8', 'OPTIONS'));
    expect(itemWords(ss.get('rc.conf variables') ?? [], 'Va').sort()).toEqual(knobs.sort());
  });

  test('its exit statuses', () => {
    const source = readFileSync(join(root, 'daemon/main.ts'), 'utf8') + readFileSync(join(root, 'daemon/daemon.ts'), 'utf8');
    const codes = new Set([...source.matchAll(/process\.exit\((\d+)\)|\? (\d+) : (\d+)\)/g)].flatMap((m) => m.slice(1).filter(Boolean)));
    const listed = section('jailnetd.8', 'EXIT STATUS').filter((l) => /^\.It \d+$/.test(l)).map((l) => l.slice(4));
    for (const code of codes) expect(listed).toContain(code);
  });
});

describe('jailnet-networks(5) has every field of every plugin', () => {
  const ss = subsections(section('jailnet-networks.5', 'DESCRIPTION'));
  const common = fieldPaths(netConfSchema);
  const commonDoc = itemWords(ss.get('Fields of every plugin') ?? [], 'Va');

  test('a section per plugin executable (plugins/*.ts), each with its schema here', () => {
    const executables = readdirSync(join(root, 'plugins')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
    expect(Object.keys(PLUGIN_SCHEMAS).sort()).toEqual(executables.sort());
    for (const p of executables) expect(ss.has(p)).toBe(true);
  });

  test('the list and the fields every plugin shares', () => {
    const list = fieldPaths(conflistSchema);
    const listDoc = itemWords(ss.get('The network configuration list') ?? [], 'Va');
    expect([...list.leaves].filter((f) => !listDoc.includes(f))).toEqual([]);
    expect(listDoc.filter((f) => !list.all.has(f))).toEqual([]);
    expect([...common.leaves].filter((f) => !commonDoc.includes(f))).toEqual([]);
    expect(commonDoc.filter((f) => !common.all.has(f))).toEqual([]);
  });

  test.each(Object.keys(PLUGIN_SCHEMAS))('%s: every field, and no field it does not have', (plugin) => {
    const { leaves, all } = fieldPaths(PLUGIN_SCHEMAS[plugin] as object);
    const doc = itemWords(ss.get(plugin) ?? [], 'Va');
    const missing = [...leaves].filter((f) => !doc.includes(f) && !(common.leaves.has(f) && commonDoc.includes(f)));
    expect(missing).toEqual([]);
    expect(doc.filter((f) => !all.has(f))).toEqual([]);
  });

  test('the CNI variables the plugins read, and every CNI_COMMAND', () => {
    const env = section('jailnet-networks.5', 'ENVIRONMENT');
    const used = new Set([...readFileSync(join(root, 'src/cni/env.ts'), 'utf8').matchAll(/env\.(CNI_[A-Z]+)/g)].map((m) => m[1] as string));
    expect(itemWords(env, 'Ev').sort()).toEqual([...used].sort());
    const commandItem = env.slice(env.indexOf('.It Ev CNI_COMMAND')).join('\n').split('.It ')[1] ?? '';
    for (const c of ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION']) expect(commandItem).toContain(c);
  });

  test('every CNI error code the product uses', () => {
    const files = (dir: string): string[] => readdirSync(join(root, dir), { recursive: true }).map(String).filter((f) => f.endsWith('.ts')).map((f) => join(root, dir, f));
    const codes = CniCode as Record<string, number>;
    const used = new Set(
      [...files('src'), ...files('daemon'), ...files('plugins')]
        .filter((f) => !f.endsWith('cni/errors.ts'))
        .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/CniCode\.(\w+)/g)].map((m) => String(codes[m[1] as string]))),
    );
    const listed = section('jailnet-networks.5', 'DIAGNOSTICS').filter((l) => /^\.It \d+$/.test(l)).map((l) => l.slice(4));
    expect([...used].filter((c) => !listed.includes(c))).toEqual([]);
    expect(listed.filter((c) => !Object.values(codes).map(String).includes(c))).toEqual([]);
  });
});

describe('jailnet-hooks(7)', () => {
  test('every annotation the hook reads, and no other', () => {
    const keys = Object.entries(ociHook)
      .filter(([name]) => /^(ANNOTATION|NERDCTL)_/.test(name))
      .map(([, v]) => v as string);
    const documented = itemWords(subsections(section('jailnet-hooks.7', 'DESCRIPTION')).get('Annotations') ?? [], 'Li');
    expect(keys.length).toBeGreaterThanOrEqual(4);
    expect(documented.sort()).toEqual(keys.sort());
  });
});

test('jailnet(8) and jailnetd(8) name every environment variable the executables read', () => {
  const files = (dir: string): string[] => readdirSync(join(root, dir), { recursive: true }).map(String).filter((f) => f.endsWith('.ts')).map((f) => join(root, dir, f));
  const read = new Set([...files('src'), ...files('daemon'), ...files('plugins')].flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/\b(JAILNETD?_[A-Z0-9_]+)\b/g)].map((m) => m[1] as string)));
  const documented = new Set([...itemWords(section('jailnet.8', 'ENVIRONMENT'), 'Ev'), ...itemWords(section('jailnetd.8', 'ENVIRONMENT'), 'Ev')]);
  expect([...read].filter((v) => !TEST_ONLY_ENV.has(v) && !documented.has(v))).toEqual([]);
  expect([...documented].filter((v) => v.startsWith('JAILNET') && !read.has(v))).toEqual([]);
});
