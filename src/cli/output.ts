import { writeOut } from '../cni/write-out';

/** Human output: aligned columns. Scripts use --json instead. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/**
 * Writes the command's output with write(2) (src/cni/write-out.ts): on a pipe, process.stdout
 * would load the stream modules, a tenth of a `jailnet ps`. A reader that went away (`jailnet
 * ps | head -1`) ends the output quietly, as it ends other Unix tools'.
 */
export function print(text: string): void {
  try {
    writeOut(1, text);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
  }
}
