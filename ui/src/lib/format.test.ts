import { countdown, formatDuration, formatUses, localDay, relativeTime, formatBytes } from "./format";

describe("formatDuration", () => {
  it("uses the largest whole unit", () => {
    expect(formatDuration(86400)).toBe("1 day");
    expect(formatDuration(30 * 86400)).toBe("30 days");
    expect(formatDuration(90 * 86400)).toBe("3 months");
    expect(formatDuration(14 * 86400)).toBe("2 weeks");
    expect(formatDuration(365 * 86400)).toBe("1 year");
    expect(formatDuration(5400)).toBe("1 hour 30 minutes");
    expect(formatDuration(90000)).toBe("1 day 1 hour");
    expect(formatDuration(59)).toBe("59 seconds");
    expect(formatDuration(0)).toBe("no time");
  });
});

describe("countdown", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  it("shows days and hours when far", () => {
    expect(countdown(new Date("2026-01-31T05:00:00Z"), now)).toBe("30d 5h");
  });
  it("shows hours and padded minutes", () => {
    expect(countdown(new Date("2026-01-01T05:02:30Z"), now)).toBe("5h 02m");
  });
  it("shows minutes and seconds when close", () => {
    expect(countdown(new Date("2026-01-01T00:04:09Z"), now)).toBe("4m 09s");
  });
  it("says expired at and after the instant", () => {
    expect(countdown(now, now)).toBe("expired");
    expect(countdown(new Date("2025-12-31T00:00:00Z"), now)).toBe("expired");
  });
});

describe("relativeTime", () => {
  const now = new Date("2026-01-10T12:00:00Z");
  it("past and future", () => {
    expect(relativeTime(new Date("2026-01-10T11:59:50Z"), now)).toBe("just now");
    expect(relativeTime(new Date("2026-01-10T11:55:00Z"), now)).toBe("5 minutes ago");
    expect(relativeTime(new Date("2026-01-07T12:00:00Z"), now)).toBe("3 days ago");
    expect(relativeTime(new Date("2026-01-10T14:00:00Z"), now)).toBe("in 2 hours");
  });
});

describe("small formatters", () => {
  it("uses", () => {
    expect(formatUses(3, 10)).toBe("3 of 10 uses");
    expect(formatUses(1, null)).toBe("1 use");
    expect(formatUses(0, null)).toBe("0 uses");
  });
  it("local day", () => {
    expect(localDay(new Date(2026, 1, 3, 23, 59))).toBe("2026-02-03");
  });
  it("bytes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(2048)).toBe("2.0 KB");
    expect(formatBytes(3 * 1024 * 1024)).toBe("3.0 MB");
  });
});
