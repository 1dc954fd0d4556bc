import type { GrantRequest, Holding } from "../backend";
import {
  answerPhrase,
  holdingKind,
  backupReason,
  budgetFraction,
  budgetWords,
  minimizedSelection,
  previousValueSentence,
  privacyNotes,
  sizeWords,
  sortHoldings,
} from "./privacy";

function request(over: Partial<GrantRequest>): GrantRequest {
  return {
    id: "req_1",
    retailer: { id: "shop", name: "Shop", origin: "https://shop.example", contact: null, privacyPolicy: null },
    scopes: [
      { scope: "identity.date_of_birth", label: "Date of birth", purpose: "age_verification", purposeLabel: "Age verification", purposeText: null, required: true, sensitivity: "personal" },
      { scope: "contact.email", label: "Email address", purpose: "order_fulfilment", purposeLabel: "Orders", purposeText: null, required: true, sensitivity: "personal" },
      { scope: "health.allergies", label: "Allergies", purpose: "marketing_email", purposeLabel: "Marketing email", purposeText: null, required: false, sensitivity: "sensitive" },
    ],
    durationSeconds: 86400,
    retentionText: "",
    retentionSeconds: null,
    benefit: null,
    recipients: [],
    receivedAt: "2026-11-24T10:00:00Z",
    via: "file",
    status: "pending",
    warnings: [],
    retailerChanges: [],
    minimized: {},
    verified: false,
    verification: null,
    verifiedShopWithSameId: null,
    ...over,
  };
}

const overAsking = {
  code: "over_asking" as const,
  scope: "identity.date_of_birth",
  purpose: "age_verification" as const,
  message: "identity.date_of_birth is asked for age verification, which needs less",
  suggestion: { scope: "age_over:18", label: "Whether you are at least 18", explanation: "The shop learns only yes or no." },
};

describe("request privacy check", () => {
  it("words over-asking as a question with the minimized answer", () => {
    const notes = privacyNotes(request({ warnings: [overAsking], minimized: { "identity.date_of_birth": "age_over:18" } }));
    expect(notes).toHaveLength(1);
    expect(notes[0]!.text).toBe(
      "This shop asks for your date of birth to check you are old enough — share only “over 18: yes”?",
    );
    expect(notes[0]!.minimizable).toBe(true);
    expect(notes[0]!.detail).toMatch(/yes or no/);
  });

  it("flags sensitive data asked for marketing, after over-asking, without an offer", () => {
    const sensitive = {
      code: "sensitive_for_marketing" as const,
      scope: "health.allergies",
      purpose: "marketing_email" as const,
      message: "",
      suggestion: null,
    };
    const notes = privacyNotes(request({ warnings: [sensitive, overAsking], minimized: {} }));
    expect(notes.map((n) => n.kind)).toEqual(["over_asking", "sensitive_for_marketing"]);
    expect(notes[0]!.minimizable).toBe(false);
    expect(notes[1]!.text).toMatch(/your allergies to send you marketing emails\. That is sensitive/);
  });

  it("offers only the planned replacement for a scope", () => {
    const other = { ...overAsking, suggestion: { scope: "age_band", label: "Age band", explanation: "" } };
    const notes = privacyNotes(request({ warnings: [overAsking, other], minimized: { "identity.date_of_birth": "age_over:18" } }));
    expect(notes).toHaveLength(1);
    expect(notes[0]!.text).toMatch(/over 18/);
  });

  it("the minimized approval includes the minimized scope even when unticked", () => {
    const r = request({ minimized: { "identity.date_of_birth": "age_over:18" } });
    expect(minimizedSelection(r, new Set(["contact.email"]))).toEqual(["identity.date_of_birth", "contact.email"]);
  });

  it("answer phrases", () => {
    expect(answerPhrase("age_over:21", "Whether you are at least 21")).toBe("over 21: yes");
    expect(answerPhrase("postal_area", "Postal area")).toBe("postal area");
  });
});

const holding = (over: Partial<Holding>): Holding => ({
  field: "contact.address",
  label: "Address",
  retailerId: "shop",
  retailerName: "Shop",
  version: 1,
  since: "2026-03-03T10:00:00Z",
  lastReceivedAt: "2026-03-04T10:00:00Z",
  outdatedSince: null,
  ...over,
});

describe("what retailers hold", () => {
  it("outdated values come first", () => {
    const list = sortHoldings([holding({ label: "Address" }), holding({ label: "Phone", outdatedSince: "2026-05-01T00:00:00Z" })]);
    expect(list.map((h) => h.label)).toEqual(["Phone", "Address"]);
  });

  it("says who holds a previous value and since when", () => {
    const day = (iso: string) => iso.slice(0, 10);
    expect(previousValueSentence([], day)).toBeNull();
    expect(previousValueSentence([holding({})], day)).toBe("Shop holds your previous value (since 2026-03-03).");
    expect(
      previousValueSentence([holding({ since: "2026-04-01T00:00:00Z" }), holding({ retailerName: "B" })], day),
    ).toBe("2 retailers hold your previous value (since 2026-03-03).");
  });

  it("tells values from answers and the fields only read to compute them", () => {
    const grants = ["age_over:18", "contact"];
    expect(holdingKind(holding({ field: "age_over:18" }), grants)).toBe("answer");
    expect(holdingKind(holding({ field: "identity.date_of_birth" }), grants)).toBe("source");
    expect(holdingKind(holding({ field: "contact.email" }), grants)).toBe("value");
    expect(holdingKind(holding({ field: "contact.email" }), ["contact.email"])).toBe("value");
    expect(holdingKind(holding({ field: "contact.emailx" }), ["contact.email"])).toBe("source");
  });

  it("budget meter", () => {
    expect(budgetFraction({ total: 2, spent: 0.5, remaining: 1.5, answers: 1 })).toBe(0.25);
    expect(budgetFraction({ total: 0, spent: 0, remaining: 0, answers: 0 })).toBe(1);
    expect(budgetWords({ total: 2, spent: 0.333333, remaining: 1.67, answers: 1 })).toBe("ε 0.33 of 2 spent");
  });
});

describe("backups", () => {
  it("sizes and reasons in words", () => {
    expect(sizeWords(3 * 1024 * 1024)).toBe("3.0 MiB");
    expect(sizeWords(200)).toBe("1 KiB");
    expect(backupReason({ id: "x", createdAt: "", reason: "before-restore", sizeBytes: 1 })).toBe("Before a restore");
    expect(backupReason({ id: "x", createdAt: "", reason: "manual", sizeBytes: 1 })).toBe("You backed up");
  });
});
