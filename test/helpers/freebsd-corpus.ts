import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The corpus of FreeBSD command output in test/fixtures/freebsd/ (format: its README.md). Each
 * sample names its source and release in a header of `# key: value` lines, then holds the
 * command's stdout and stderr byte for byte in `#--- stdout` / `#--- stderr` sections.
 */

export const CORPUS_DIR = join(__dirname, '../fixtures/freebsd');

export interface CorpusSample {
  /** File name without `.txt`. */
  name: string;
  /** `derived` (from the printf calls of the named sources) or `captured` (a public capture). */
  kind: 'derived' | 'captured';
  release: string;
  /** Source files and functions (derived) or the capture's address (captured), one per entry. */
  sources: string[];
  /** The exact command line. */
  command: string;
  exit: number;
  /** Sections of the output; an absent section is the empty string. */
  stdout: string;
  stderr: string;
  /** Every `# key: value` of the header, repeated keys joined by newlines. */
  header: Record<string, string>;
}

const SECTION = /^#--- (stdout|stderr)$/;

export function parseCorpusSample(name: string, text: string): CorpusSample {
  const lines = text.split('\n');
  const header: Record<string, string> = {};
  let i = 0;
  for (; i < lines.length && !SECTION.test(lines[i] as string); i++) {
    // A sample without output ends with its header's newline.
    if (i === lines.length - 1 && lines[i] === '') break;
    const m = /^# ([a-z-]+): (.*)$/.exec(lines[i] as string);
    if (!m) throw new Error(`${name}: header line ${i + 1} is not "# key: value": ${JSON.stringify(lines[i])}`);
    const key = m[1] as string;
    header[key] = header[key] === undefined ? (m[2] as string) : `${header[key]}\n${m[2]}`;
  }
  const sections: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  while (i < lines.length && lines[i] !== '') {
    const which = (SECTION.exec(lines[i] as string) as RegExpExecArray)[1] as 'stdout' | 'stderr';
    const body: string[] = [];
    for (i++; i < lines.length && !SECTION.test(lines[i] as string); i++) body.push(lines[i] as string);
    // The file's last newline ends the last line of the section; a section never ends without one.
    sections[which] = body.join('\n');
    if (i < lines.length) sections[which] += '\n';
  }
  for (const key of ['kind', 'release', 'source', 'command', 'exit']) {
    if (header[key] === undefined) throw new Error(`${name}: header lacks "# ${key}:"`);
  }
  if (header.kind !== 'derived' && header.kind !== 'captured') throw new Error(`${name}: kind must be derived or captured`);
  if (!/^\d+$/.test(header.exit as string)) throw new Error(`${name}: exit must be a number`);
  return {
    name,
    kind: header.kind,
    release: header.release as string,
    sources: (header.source as string).split('\n'),
    command: header.command as string,
    exit: Number(header.exit),
    stdout: sections.stdout,
    stderr: sections.stderr,
    header,
  };
}

export function corpusSample(name: string): CorpusSample {
  return parseCorpusSample(name, readFileSync(join(CORPUS_DIR, `${name}.txt`), 'utf8'));
}

export function corpusNames(): string[] {
  return readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith('.txt'))
    .map((f) => f.slice(0, -4))
    .sort();
}
