// Formatting of dates, durations, counts and countdowns in the owner's words.

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

/** 86400 → "1 day", 2592000 → "30 days", 31536000 → "1 year", 5400 → "1 hour 30 minutes". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return "no time";
  if (seconds % (365 * DAY) === 0) return plural(seconds / (365 * DAY), "year");
  if (seconds >= 60 * DAY && seconds % (30 * DAY) === 0) return plural(seconds / (30 * DAY), "month");
  if (seconds >= 14 * DAY && seconds % (7 * DAY) === 0) return plural(seconds / (7 * DAY), "week");
  if (seconds >= DAY) {
    const d = Math.floor(seconds / DAY);
    const h = Math.floor((seconds % DAY) / HOUR);
    return h > 0 && d < 3 ? `${plural(d, "day")} ${plural(h, "hour")}` : plural(d, "day");
  }
  if (seconds >= HOUR) {
    const h = Math.floor(seconds / HOUR);
    const m = Math.floor((seconds % HOUR) / MINUTE);
    return m > 0 ? `${plural(h, "hour")} ${plural(m, "minute")}` : plural(h, "hour");
  }
  if (seconds >= MINUTE) return plural(Math.floor(seconds / MINUTE), "minute");
  return plural(Math.floor(seconds), "second");
}

/** Time left until `until`, as a short countdown: "29d 23h", "5h 02m", "4m 10s", or "expired". */
export function countdown(until: Date, now: Date): string {
  let s = Math.floor((until.getTime() - now.getTime()) / 1000);
  if (s <= 0) return "expired";
  const d = Math.floor(s / DAY);
  s -= d * DAY;
  const h = Math.floor(s / HOUR);
  s -= h * HOUR;
  const m = Math.floor(s / MINUTE);
  s -= m * MINUTE;
  const pad = (n: number) => String(n).padStart(2, "0");
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${pad(m)}m`;
  return `${m}m ${pad(s)}s`;
}

/** "just now", "5 minutes ago", "3 days ago", or "in 2 hours" for the future. */
export function relativeTime(at: Date, now: Date): string {
  const diff = Math.round((now.getTime() - at.getTime()) / 1000);
  const abs = Math.abs(diff);
  if (abs < 45) return "just now";
  const text =
    abs < HOUR
      ? plural(Math.round(abs / MINUTE), "minute")
      : abs < DAY
        ? plural(Math.round(abs / HOUR), "hour")
        : abs < 60 * DAY
          ? plural(Math.round(abs / DAY), "day")
          : abs < 730 * DAY
            ? plural(Math.round(abs / (30 * DAY)), "month")
            : plural(Math.round(abs / (365 * DAY)), "year");
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});
const dateFmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTimeFmt.format(d);
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateFmt.format(d);
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** "3 of 10 uses", "3 uses" when unlimited. */
export function formatUses(uses: number, maxUses: number | null): string {
  return maxUses === null ? plural(uses, "use") : `${uses} of ${maxUses} uses`;
}

/** Local calendar day "YYYY-MM-DD" of a timestamp. */
export function localDay(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** A value for an <input type="date"> from a Date (local). */
export function dateInputValue(d: Date): string {
  return localDay(d);
}

const logFmtSameYear = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});

/** A log timestamp: "Nov 24, 15:25:14" (the year only when it is not this year). */
export function formatLogTime(iso: string, now: Date = new Date()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.getFullYear() === now.getFullYear() ? logFmtSameYear.format(d) : formatDateTime(iso);
}
