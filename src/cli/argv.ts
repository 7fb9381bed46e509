/**
 * The command-line grammar of `jailnet`, without yargs (issue 13: yargs alone cost every command
 * about three bare Node starts): commands declared as data, argv parsed strictly against them,
 * `--help` written from the same declarations in yargs' layout (Commands / Positionals /
 * Options), which the manual-pages test reads.
 *
 * Options: `--name value`, `--name=value`, `-x value`; a boolean takes no value and `--no-name`
 * sets it false; an array option collects each occurrence (`-n a -n b`). Anything not declared
 * is refused, as is a missing required positional or option.
 */

export type Value = string | number | boolean | string[] | undefined;
export type Args = Record<string, Value>;

export interface OptionSpec {
  name: string;
  alias?: string;
  type: 'string' | 'number' | 'boolean';
  array?: boolean;
  required?: boolean;
  default?: Value;
  describe?: string;
}

export interface PositionalSpec {
  name: string;
  /** `[files..]`: takes every word left. */
  variadic?: boolean;
  required?: boolean;
  choices?: readonly string[];
  describe?: string;
}

export interface CommandSpec {
  name: string;
  aliases?: readonly string[];
  describe: string;
  positionals?: readonly PositionalSpec[];
  options?: readonly OptionSpec[];
  subcommands?: readonly CommandSpec[];
  run?: (args: Args) => Promise<void> | void;
}

export class UsageError extends Error {}

export type Parsed = { kind: 'run'; command: CommandSpec; args: Args } | { kind: 'help'; text: string };

/** Finds the command argv names and reads its arguments; `--help` anywhere asks for its help. */
export function parseArgv(root: CommandSpec, argv: readonly string[], program = 'jailnet'): Parsed {
  let command = root;
  const path: string[] = [];
  let i = 0;
  while (command.subcommands && i < argv.length) {
    const word = argv[i] as string;
    const sub = command.subcommands.find((c) => c.name === word || c.aliases?.includes(word));
    if (!sub) break;
    command = sub;
    path.push(sub.name);
    i++;
  }
  const rest = argv.slice(i);
  if (rest.includes('--help')) return { kind: 'help', text: helpText(command, [program, ...path]) };
  if (command.subcommands) {
    if (rest.length === 0) throw new UsageError(`name a command (${[program, ...path, '--help'].join(' ')} lists them)`);
    throw new UsageError(`unknown command "${rest[0] as string}" (${[program, ...path, '--help'].join(' ')} lists the commands)`);
  }
  return { kind: 'run', command, args: readArgs(command, rest) };
}

function readArgs(command: CommandSpec, words: readonly string[]): Args {
  const options = command.options ?? [];
  const args: Args = {};
  const loose: string[] = [];
  for (const o of options) if (o.default !== undefined) args[o.name] = Array.isArray(o.default) ? [...o.default] : o.default;
  const seen = new Set<string>();
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (word === '--') {
      loose.push(...words.slice(i + 1));
      break;
    }
    if (!word.startsWith('-') || word === '-' || /^-\d/.test(word)) {
      loose.push(word);
      continue;
    }
    const eq = word.startsWith('--') ? word.indexOf('=') : -1;
    const flag = eq > 0 ? word.slice(0, eq) : word;
    const inline = eq > 0 ? word.slice(eq + 1) : undefined;
    const negated = flag.startsWith('--no-') ? options.find((o) => o.type === 'boolean' && `--no-${o.name}` === flag) : undefined;
    const o = negated ?? options.find((x) => `--${x.name}` === flag || (x.alias !== undefined && `-${x.alias}` === flag));
    if (!o) throw new UsageError(`unknown option ${flag}`);
    if (o.type === 'boolean') {
      if (inline !== undefined && inline !== 'true' && inline !== 'false') throw new UsageError(`${flag} takes no value`);
      args[o.name] = negated ? false : inline !== 'false';
      continue;
    }
    let text = inline;
    if (text === undefined) {
      text = words[i + 1];
      if (text === undefined) throw new UsageError(`${flag} needs a value`);
      i++;
    }
    const value = o.type === 'number' ? toNumber(flag, text) : text;
    if (o.array) {
      const list = seen.has(o.name) ? (args[o.name] as string[]) : [];
      list.push(String(value));
      args[o.name] = list;
    } else {
      if (seen.has(o.name)) throw new UsageError(`${flag} is given twice`);
      args[o.name] = value;
    }
    seen.add(o.name);
  }
  for (const o of options) if (o.required && !seen.has(o.name)) throw new UsageError(`missing required option --${o.name}`);
  for (const p of command.positionals ?? []) {
    if (p.variadic) {
      args[p.name] = loose.splice(0);
      continue;
    }
    const word = loose.shift();
    if (word === undefined) {
      if (p.required) throw new UsageError(`missing argument <${p.name}>`);
      continue;
    }
    if (p.choices && !p.choices.includes(word)) throw new UsageError(`<${p.name}> must be one of ${p.choices.join(', ')}, not "${word}"`);
    args[p.name] = word;
  }
  if (loose.length) throw new UsageError(`unexpected argument${loose.length > 1 ? 's' : ''}: ${loose.join(' ')}`);
  return args;
}

function toNumber(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} needs a number, not "${text}"`);
  return n;
}

// ---- help ----------------------------------------------------------------------------------

const WIDTH = 80;

function usageOf(c: CommandSpec): string {
  return [c.name, ...(c.positionals ?? []).map((p) => (p.variadic ? `[${p.name}..]` : p.required ? `<${p.name}>` : `[${p.name}]`))].join(' ');
}

/** Left column, then the description wrapped beside it, then the tags on the right (as yargs does). */
function rows(items: readonly { left: string; text: string; tags: string }[], indent: number): string[] {
  const leftWidth = Math.max(...items.map((it) => it.left.length)) + 2;
  const textWidth = WIDTH - indent - leftWidth;
  const out: string[] = [];
  for (const it of items) {
    const lines = wrap(it.text, textWidth);
    if (it.tags) {
      const last = lines[lines.length - 1] ?? '';
      if (last.length + 1 + it.tags.length <= textWidth) lines[lines.length - 1] = last + ' '.repeat(textWidth - last.length - it.tags.length) + it.tags;
      else lines.push(' '.repeat(Math.max(0, textWidth - it.tags.length)) + it.tags);
    }
    lines.forEach((line, k) => out.push(`${' '.repeat(indent)}${(k === 0 ? it.left : '').padEnd(leftWidth)}${line}`.trimEnd()));
  }
  return out;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ').filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines;
}

function tagsOf(o: { type?: string; array?: boolean; required?: boolean; default?: Value; choices?: readonly string[] }): string {
  const tags = [o.array ? 'array' : o.type].filter(Boolean).map((t) => `[${t as string}]`);
  if (o.required) tags.push('[required]');
  if (o.choices) tags.push(`[choices: ${o.choices.map((c) => JSON.stringify(c)).join(', ')}]`);
  if (o.default !== undefined) tags.push(`[default: ${JSON.stringify(o.default)}]`);
  return tags.join(' ');
}

export function helpText(c: CommandSpec, path: readonly string[]): string {
  const parts: string[] = [];
  const here = path.join(' ');
  parts.push(c.subcommands && path.length === 1 ? `${here} <command>` : [...path.slice(0, -1), usageOf(c)].join(' '), '', c.describe);
  if (c.subcommands) {
    parts.push('', 'Commands:', ...rows(c.subcommands.map((s) => ({ left: `${here} ${usageOf(s)}`, text: s.describe, tags: s.aliases?.length ? `[aliases: ${s.aliases.join(', ')}]` : '' })), 2));
  }
  if (c.positionals?.length) {
    parts.push('', 'Positionals:', ...rows(c.positionals.map((p) => ({ left: p.name, text: p.describe ?? '', tags: tagsOf({ type: 'string', array: p.variadic, required: p.required, choices: p.choices }) })), 2));
  }
  const options: OptionSpec[] = [{ name: 'help', type: 'boolean', describe: 'Show help' }, ...(c.options ?? [])];
  const aliased = options.some((o) => o.alias);
  parts.push(
    '',
    'Options:',
    ...rows(
      options.map((o) => ({ left: o.alias ? `-${o.alias}, --${o.name}` : `${aliased ? '    ' : ''}--${o.name}`, text: o.describe ?? '', tags: tagsOf(o) })),
      2,
    ),
  );
  return `${parts.join('\n')}\n`;
}
