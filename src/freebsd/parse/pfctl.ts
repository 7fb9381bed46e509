/** Parsers of pfctl(8) output. */

/** `pfctl -s nat|rules`: one rule per line. */
export function parseRules(output: string): string[] {
  return output.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('No ALTQ') && !l.startsWith('ALTQ'));
}

/** `pfctl [-a A] -s Anchors`: one anchor path per line, indented. */
export function parseAnchors(output: string): string[] {
  return output.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** `pfctl [-a A] -s Tables`: one table name per line. */
export function parseTables(output: string): string[] {
  return output.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** `pfctl -t T -T show`: one address or network per line, indented by three spaces. */
export function parseTableAddresses(output: string): string[] {
  return output.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** `pfctl -s info`: whether pf is enabled ("Status: Enabled for ..." / "Status: Disabled ..."). */
export function parsePfEnabled(output: string): boolean {
  const m = /^Status:\s+(Enabled|Disabled)/m.exec(output);
  if (!m) throw new Error('pfctl -s info printed no "Status:" line');
  return m[1] === 'Enabled';
}

/** "1/1 addresses added." and similar table messages (on stderr): the first count. */
export function parseTableChangeCount(stderr: string): number {
  const m = /^(\d+)\/\d+ addresses? (added|deleted|changed)/m.exec(stderr);
  return m ? Number(m[1]) : 0;
}
