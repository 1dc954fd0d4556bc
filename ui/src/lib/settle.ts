/**
 * Trailing "settle" scheduling for expensive re-checks driven by live events: run once the events have been
 * quiet for `quietMs`, but during a long burst no later than `maxMs` after the first change still unhandled.
 * The last change is always followed by a run, so the result catches up with what the table shows.
 */
export function settleDelay(now: number, lastChange: number, pendingSince: number, quietMs: number, maxMs: number): number {
  return Math.max(0, Math.min(lastChange + quietMs, pendingSince + maxMs) - now);
}
