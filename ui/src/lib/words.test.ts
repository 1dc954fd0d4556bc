import { eventKindWords, fieldListWords, humanize, purposeWords, refusalSummaryWords, refusalWords } from "./words";

describe("purpose wording", () => {
  it("known purposes read as plain words", () => {
    expect(purposeWords("order_fulfilment")).toBe("to process and deliver your orders");
    expect(purposeWords("marketing_email")).toBe("to send you marketing emails");
  });
  it("unknown purposes are humanised, free text is quoted", () => {
    expect(purposeWords("gift_wrapping")).toBe("for gift wrapping");
    expect(purposeWords("analytics", "  only aggregated ")).toBe(
      "for statistics about how customers shop: “only aggregated”",
    );
  });
});

describe("refusal wording", () => {
  it("explains the stable codes", () => {
    expect(refusalWords("grant_revoked")).toBe("You had revoked this grant.");
    expect(refusalWords("grant_uses_exhausted")).toMatch(/maximum number of times/);
    expect(refusalWords("token_invalid_signature")).toMatch(/forged/);
    expect(refusalWords("token_expired")).toBe("The grant had expired.");
    expect(refusalWords("request_benefit_invalid")).toMatch(/offers in return/);
    expect(refusalWords("request_recipients_invalid")).toMatch(/who else gets your data/);
  });
  it("says how many refusals a summary counts and from where", () => {
    const now = new Date("2026-12-07T12:00:00Z");
    const s = { count: 299, firstAt: "2026-12-07T10:04:00.000Z", lastAt: "2026-12-07T10:05:00.000Z", fromThisComputer: true };
    const words = refusalSummaryWords(s, now);
    expect(words).toMatch(/^299 times from a program or web page on this computer, .+ – .+; counted together/);
    expect(refusalSummaryWords({ ...s, count: 1, lastAt: s.firstAt, fromThisComputer: false }, now)).toMatch(
      /^once from another computer, [^–]+; counted/,
    );
  });
  it("falls back to a readable sentence", () => {
    expect(refusalWords("some_new_code")).toBe("Some new code.");
    expect(refusalWords(null)).toBe("Refused.");
  });
});

describe("misc", () => {
  it("humanize", () => {
    expect(humanize("contact.email")).toBe("Contact email");
  });
  it("event kinds", () => {
    expect(eventKindWords("grant_revoked")).toBe("Grant revoked");
    expect(eventKindWords("brand_new")).toBe("Brand new");
  });
  it("field lists", () => {
    expect(fieldListWords([])).toBe("no fields");
    expect(fieldListWords(["A", "B"])).toBe("A, B");
    expect(fieldListWords(["A", "B", "C", "D", "E"])).toBe("A, B and 3 more");
  });
});
