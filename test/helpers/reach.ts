import type { FailureKind, RequestResult } from '../harness/emulated-host';

/**
 * A negative reachability check names the failure it expects (issue 10.12): refused (nothing
 * listens, or a rule answers with RST), reset, timed out (dropped), unreachable. "Any failure"
 * would let a broken network pass a test of a blocked port.
 */
export function expectFailure(r: RequestResult, kind: FailureKind): void {
  expect(r.ok ? { ok: true } : { ok: false, kind: r.kind, error: r.error }).toMatchObject({ ok: false, kind });
}
