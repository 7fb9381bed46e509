/** Summaries of samples and plain-text tables for the benches' reports. */

export interface Summary {
  n: number;
  median: number;
  p10: number;
  p90: number;
  mean: number;
  min: number;
  max: number;
}

/** The value below which a fraction q of the samples lie (nearest rank). */
export function percentile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

export function summarize(xs: readonly number[]): Summary {
  return {
    n: xs.length,
    median: percentile(xs, 0.5),
    p10: percentile(xs, 0.1),
    p90: percentile(xs, 0.9),
    mean: xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN,
    min: xs.length ? Math.min(...xs) : Number.NaN,
    max: xs.length ? Math.max(...xs) : Number.NaN,
  };
}

/** "123.4" with one decimal below 100, none above; "-" for NaN. */
export function fmt(v: number, decimals?: number): string {
  if (!Number.isFinite(v)) return '-';
  return v.toFixed(decimals ?? (Math.abs(v) >= 100 ? 0 : 1));
}

/** "median (p10-p90)". */
export function spread(s: Summary): string {
  return s.n === 0 ? '-' : s.n < 3 ? `${fmt(s.median)} (${fmt(s.min)}-${fmt(s.max)})` : `${fmt(s.median)} (${fmt(s.p10)}-${fmt(s.p90)})`;
}

export function ratio(a: number, b: number): string {
  return Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : '-';
}

/** A table: a header row, a rule, the rows; numbers right-aligned, text left-aligned. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || /^[-\d.,x%()+ ]+$/.test(String(r[i] ?? ''))));
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] && i > 0 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(cells[0] as string[]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
