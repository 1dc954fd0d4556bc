import { describe, expect, it } from "vitest";
import type { GrantRequest } from "../backend";
import { pinChangeWords, provenance, viaWords } from "./verification";

const base = {
  verified: false,
  verification: null,
  verifiedShopWithSameId: null,
  via: "file",
} as unknown as GrantRequest;

describe("provenance", () => {
  it("names the site that signed a verified request", () => {
    const r = {
      ...base,
      via: "connect",
      verified: true,
      verification: {
        origin: "https://shop.example",
        host: "shop.example",
        requestUri: "https://shop.example/r/1",
        fetchedAt: "2026-12-07T10:00:00Z",
        pinnedSince: "2026-12-01T10:00:00Z",
        keyId: "sig-1",
        keyThumbprint: "abc",
        changes: [],
      },
    } as GrantRequest;
    const p = provenance(r);
    expect(p.kind).toBe("verified");
    expect(p.headline).toBe("Verified: shop.example");
    expect(p.detail).toContain("signed by the site you were on (https://shop.example)");
    expect(viaWords(r.via)).toBe("from the shop’s website");
  });

  it("says not verified, and flags a request borrowing a verified shop's id", () => {
    expect(provenance(base)).toMatchObject({ kind: "unverified", headline: "Not verified", impersonates: null });
    const p = provenance({ ...base, verifiedShopWithSameId: "https://shop.example" } as GrantRequest);
    expect(p).toMatchObject({ kind: "unverified", impersonates: "https://shop.example" });
  });

  it("shortens key thumbprints and capitalises labels", () => {
    const w = pinChangeWords({ field: "signing_key", label: "signing key", pinned: "A".repeat(43), now: "B".repeat(43) });
    expect(w.label).toBe("Signing key");
    expect(w.pinned).toBe(`${"A".repeat(16)}…`);
    expect(pinChangeWords({ field: "name", label: "name", pinned: "Old", now: "" }).now).toBe("not given");
  });
});
