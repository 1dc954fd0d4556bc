// Expiry choices on a request card: presets that never exceed what the retailer asked for.

export interface ExpiryPreset {
  id: string;
  label: string;
  seconds: number;
}

const DAY = 86400;
const ALL: ExpiryPreset[] = [
  { id: "1d", label: "1 day", seconds: DAY },
  { id: "7d", label: "1 week", seconds: 7 * DAY },
  { id: "30d", label: "30 days", seconds: 30 * DAY },
  { id: "90d", label: "90 days", seconds: 90 * DAY },
  { id: "365d", label: "1 year", seconds: 365 * DAY },
];

/** The presets shorter than the requested duration, plus "as requested". The owner can shorten, never lengthen. */
export function expiryPresets(requestedSeconds: number): ExpiryPreset[] {
  const shorter = ALL.filter((p) => p.seconds < requestedSeconds);
  return [...shorter, { id: "requested", label: "As requested", seconds: requestedSeconds }];
}

/** The expiry instant for a chosen number of seconds from `now`. */
export function expiryFrom(now: Date, seconds: number): Date {
  return new Date(now.getTime() + seconds * 1000);
}

/**
 * A date picked in the calendar (YYYY-MM-DD, local): valid when it is after today and not after the requested
 * limit. Returns the end of that local day clamped to the limit, or an error sentence.
 */
export function customExpiry(
  day: string,
  now: Date,
  requestedSeconds: number,
): { at: Date; error: null } | { at: null; error: string } {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return { at: null, error: "Pick a date." };
  const end = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 23, 59, 59);
  if (end.getTime() <= now.getTime()) return { at: null, error: "Pick a date in the future." };
  const limit = expiryFrom(now, requestedSeconds);
  if (end.getTime() > limit.getTime() + DAY * 1000)
    return { at: null, error: "That is longer than the retailer asked for." };
  return { at: end.getTime() > limit.getTime() ? limit : end, error: null };
}

/** Max uses input: empty = unlimited; otherwise a whole number ≥ 1. */
export function parseMaxUses(raw: string): { value: number | null; error: string | null } {
  const v = raw.trim();
  if (v === "") return { value: null, error: null };
  if (!/^\d+$/.test(v) || Number(v) < 1) return { value: null, error: "A whole number, 1 or more — or empty for no limit." };
  if (Number(v) > 1_000_000) return { value: null, error: "At most 1,000,000." };
  return { value: Number(v), error: null };
}
