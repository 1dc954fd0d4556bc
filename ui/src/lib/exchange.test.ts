import type { Recipient } from "../generated/ipc";
import { NO_BENEFIT, NOBODY_ELSE, benefitWords, recipientDetail, recipientNeedsCare, recipientsSummary, roleTag } from "./exchange";

function recipient(over: Partial<Recipient> = {}): Recipient {
  return {
    name: "Parcel Express Ltd",
    role: "processor",
    roleWords: "works for the shop",
    purpose: "delivery",
    purposeText: null,
    marketingOrProfiling: false,
    country: "DE",
    countryName: "Germany",
    ...over,
  };
}

const third = recipient({
  name: "Insight Co",
  role: "third_party",
  roleWords: "uses your data for its own purposes",
  purpose: "analytics",
  purposeText: "Market research",
  marketingOrProfiling: true,
  country: "US",
  countryName: "United States",
});

describe("what the owner gets in return", () => {
  it("says plainly when nothing is offered", () => {
    expect(benefitWords(null)).toEqual({ headline: NO_BENEFIT, shopWords: null, none: true });
    expect(NO_BENEFIT).toMatch(/^Nothing\./);
  });

  it("leads with Locket's words for a structured offer and keeps the shop's words under it", () => {
    const w = benefitWords({
      description: "10% off your next order",
      offer: { kind: "discount_percent", summary: "10% off" },
    });
    expect(w).toEqual({ headline: "10% off", shopWords: "10% off your next order", none: false });
  });

  it("does not repeat words that say the same as the summary", () => {
    const w = benefitWords({ description: "Free delivery", offer: { kind: "free_shipping", summary: "Free delivery" } });
    expect(w.shopWords).toBeNull();
  });

  it("uses the shop's words alone when there is no summary", () => {
    expect(benefitWords({ description: "A tote bag", offer: { kind: "other", summary: null } }).headline).toBe("A tote bag");
    expect(benefitWords({ description: " A tote bag ", offer: null })).toEqual({
      headline: "A tote bag",
      shopWords: null,
      none: false,
    });
  });
});

describe("who else gets the data", () => {
  it("says nobody else as the shop's claim when none are named", () => {
    expect(recipientsSummary([])).toBe("Shared with nobody else, the shop says.");
    expect(NOBODY_ELSE).toContain("the shop says");
  });

  it("counts the others and those using the data for themselves", () => {
    expect(recipientsSummary([recipient()])).toBe("The shop says 1 other company also gets your data.");
    expect(recipientsSummary([recipient(), third])).toBe(
      "The shop says 2 other companies also get your data, 1 for its own purposes.",
    );
    expect(recipientsSummary([third, { ...third, name: "B" }, recipient()])).toBe(
      "The shop says 3 other companies also get your data, 2 for their own purposes.",
    );
  });

  it("words each recipient's role, country and purpose", () => {
    expect(recipientDetail(recipient())).toBe("Works for the shop · in Germany · used to deliver your orders");
    expect(recipientDetail(third)).toBe(
      "Uses your data for its own purposes · in United States · used for statistics about how customers shop: “Market research”",
    );
    expect(roleTag("processor")).toEqual({ label: "Service provider", tone: "neutral" });
    expect(roleTag("joint_controller").label).toBe("Partner");
    expect(roleTag("third_party")).toEqual({ label: "Third party", tone: "third" });
  });

  it("marks third parties and marketing for care, not a courier", () => {
    expect(recipientNeedsCare(recipient())).toBe(false);
    expect(recipientNeedsCare(third)).toBe(true);
    expect(recipientNeedsCare(recipient({ purpose: "marketing_email", marketingOrProfiling: true }))).toBe(true);
    expect(recipientNeedsCare(recipient({ role: "third_party" }))).toBe(true);
  });
});
