import type { GrantRequest, PinChange } from "../backend";

/** What a request card says about who sent it. */
export type Provenance =
  | { kind: "verified"; host: string; origin: string; headline: string; detail: string; changed: boolean }
  | { kind: "unverified"; headline: string; detail: string; impersonates: string | null };

/** How a request arrived, in the owner's words. */
export function viaWords(via: GrantRequest["via"]): string {
  switch (via) {
    case "connect":
      return "from the shop’s website";
    case "http":
      return "from a program or web page on this computer";
    case "deep_link":
      return "through a Locket link";
    case "file":
      return "as a file you imported";
  }
}

export const UNVERIFIED_HINT =
  "Locket cannot check who sent this request: anyone can put a shop’s name on one. Share only if you expected it.";

/** The provenance of a request: verified by its site's signature, or not verified (and maybe impersonating). */
export function provenance(r: GrantRequest): Provenance {
  const v = r.verification;
  if (r.verified && v) {
    return {
      kind: "verified",
      host: v.host,
      origin: v.origin,
      headline: `Verified: ${v.host}`,
      detail: `This request was signed by the site you were on (${v.origin}). Locket fetched it from there and checked the signature with the keys that site publishes.`,
      changed: v.changes.length > 0,
    };
  }
  return {
    kind: "unverified",
    headline: "Not verified",
    detail: UNVERIFIED_HINT,
    impersonates: r.verifiedShopWithSameId ?? null,
  };
}

/** One changed detail of a verified shop, for people ("Signing key: changed since you first connected"). */
export function pinChangeWords(c: PinChange): { label: string; pinned: string; now: string } {
  const label = c.label.charAt(0).toUpperCase() + c.label.slice(1);
  const isKey = c.field === "signing_key" || c.field === "encryption_key";
  const short = (s: string) => (isKey && s.length > 16 ? `${s.slice(0, 16)}…` : s || "not given");
  return { label, pinned: short(c.pinned), now: short(c.now) };
}
