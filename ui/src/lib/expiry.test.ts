import { customExpiry, expiryPresets, parseMaxUses } from "./expiry";

describe("expiry presets", () => {
  it("only offers shorter presets plus as-requested", () => {
    const p = expiryPresets(30 * 86400);
    expect(p.map((x) => x.id)).toEqual(["1d", "7d", "requested"]);
    expect(p[p.length - 1]!.seconds).toBe(30 * 86400);
  });
  it("custom date: future, not beyond the request", () => {
    const now = new Date(2026, 0, 1, 12);
    expect(customExpiry("2025-12-31", now, 30 * 86400).error).toMatch(/future/);
    expect(customExpiry("2026-03-01", now, 30 * 86400).error).toMatch(/longer/);
    const ok = customExpiry("2026-01-10", now, 30 * 86400);
    expect(ok.error).toBeNull();
    expect(ok.at!.getDate()).toBe(10);
    // the last allowed day is clamped to the exact limit
    const edge = customExpiry("2026-01-31", now, 30 * 86400);
    expect(edge.at!.getTime()).toBe(now.getTime() + 30 * 86400 * 1000);
  });
  it("max uses", () => {
    expect(parseMaxUses("")).toEqual({ value: null, error: null });
    expect(parseMaxUses("5")).toEqual({ value: 5, error: null });
    expect(parseMaxUses("0").error).not.toBeNull();
    expect(parseMaxUses("2.5").error).not.toBeNull();
  });
});
