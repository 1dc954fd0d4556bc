import type { Grant } from "../backend";
import { countByTab, effectiveStatus, filterGrants, isFiltered, niceMax, timelineSeries, toAuditFilter, EMPTY_FILTER } from "./filters";

const now = new Date("2026-03-10T12:00:00Z");
function grant(over: Partial<Grant>): Grant {
  return {
    id: "g",
    requestId: null,
    retailer: { id: "r", name: "R", origin: "https://r.example", contact: null, privacyPolicy: null },
    scopes: [],
    issuedAt: "2026-03-01T00:00:00Z",
    expiresAt: "2026-04-01T00:00:00Z",
    maxUses: null,
    uses: 0,
    lastAccess: null,
    revokedAt: null,
    status: "active",
    ...over,
  };
}

describe("grant status", () => {
  it("an active grant past its expiry counts as expired", () => {
    expect(effectiveStatus(grant({ expiresAt: "2026-03-10T11:59:59Z" }), now)).toBe("expired");
  });
  it("an active grant with all uses spent counts as exhausted", () => {
    expect(effectiveStatus(grant({ maxUses: 2, uses: 2 }), now)).toBe("exhausted");
  });
  it("revoked stays revoked", () => {
    expect(effectiveStatus(grant({ status: "revoked", revokedAt: "2026-03-09T00:00:00Z" }), now)).toBe("revoked");
  });
  it("tabs and counts", () => {
    const gs = [
      grant({ id: "a", expiresAt: "2026-05-01T00:00:00Z" }),
      grant({ id: "b", expiresAt: "2026-04-01T00:00:00Z" }),
      grant({ id: "c", expiresAt: "2026-03-01T00:00:00Z" }),
      grant({ id: "d", status: "revoked", revokedAt: "2026-03-02T00:00:00Z" }),
      grant({ id: "e", maxUses: 1, uses: 1 }),
    ];
    expect(filterGrants(gs, "active", now).map((g) => g.id)).toEqual(["b", "a"]);
    expect(countByTab(gs, now)).toEqual({ active: 2, expired: 2, revoked: 1 });
  });
});

describe("activity filter", () => {
  it("empty form means no constraint", () => {
    expect(toAuditFilter(EMPTY_FILTER, now)).toEqual({ retailerId: null, field: null, outcome: null, since: null, until: null });
    expect(isFiltered(EMPTY_FILTER)).toBe(false);
  });
  it("range becomes a since instant", () => {
    const f = toAuditFilter({ ...EMPTY_FILTER, range: "24h", outcome: "refused", field: " contact.email " }, now);
    expect(f.since).toBe("2026-03-09T12:00:00.000Z");
    expect(f.outcome).toBe("refused");
    expect(f.field).toBe("contact.email");
  });
});

describe("timeline", () => {
  it("fills missing days and drops days outside the window", () => {
    const local = new Date(2026, 2, 10, 12);
    const s = timelineSeries(
      [
        { day: "2026-03-10", allowed: 5, refused: 1 },
        { day: "2026-03-08", allowed: 1, refused: 0 },
        { day: "2026-01-01", allowed: 9, refused: 9 },
      ],
      7,
      local,
    );
    expect(s).toHaveLength(7);
    expect(s[0]!.day).toBe("2026-03-04");
    expect(s[6]).toMatchObject({ day: "2026-03-10", allowed: 5, refused: 1 });
    expect(s[4]).toMatchObject({ day: "2026-03-08", allowed: 1 });
    expect(s[5]).toMatchObject({ allowed: 0, refused: 0 });
  });
  it("nice maxima", () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(3)).toBe(5);
    expect(niceMax(11)).toBe(20);
    expect(niceMax(100)).toBe(100);
  });
});
