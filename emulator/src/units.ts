import { readState, writeState, type EmuContext } from './context';

/**
 * Cloner units (epairN, bridgeN, vxlanN) per vnet, like FreeBSD's per-vnet cloners: a unit stays
 * taken while its interface exists, whatever it is renamed to or wherever it is moved.
 * Call with the 'state' lock held.
 */

export type Cloner = 'epair' | 'bridge' | 'vxlan';
type UnitsState = Record<string, Partial<Record<Cloner, number[]>>>;

const FILE = 'units.json';

export function takenUnits(ctx: EmuContext, home: number, cloner: Cloner): number[] {
  return readState<UnitsState>(ctx, FILE, {})[String(home)]?.[cloner] ?? [];
}

export function takeUnit(ctx: EmuContext, home: number, cloner: Cloner, unit: number): void {
  const s = readState<UnitsState>(ctx, FILE, {});
  const v = (s[String(home)] ??= {});
  const list = (v[cloner] ??= []);
  if (!list.includes(unit)) list.push(unit);
  list.sort((a, b) => a - b);
  writeState(ctx, FILE, s);
}

export function freeUnits(ctx: EmuContext, entries: readonly { home: number; cloner: Cloner; unit: number }[]): void {
  if (entries.length === 0) return;
  const s = readState<UnitsState>(ctx, FILE, {});
  for (const e of entries) {
    const list = s[String(e.home)]?.[e.cloner];
    if (list) s[String(e.home)]![e.cloner] = list.filter((u) => u !== e.unit);
  }
  writeState(ctx, FILE, s);
}

/** Forgets every unit of a removed vnet jail. */
export function dropVnet(ctx: EmuContext, home: number): void {
  const s = readState<UnitsState>(ctx, FILE, {});
  if (!(String(home) in s)) return;
  delete s[String(home)];
  writeState(ctx, FILE, s);
}
