import { passphraseStrength, MIN_ACCEPTED_SCORE } from "./strength";

describe("passphraseStrength", () => {
  it("rates empty and short passphrases very weak", () => {
    expect(passphraseStrength("").score).toBe(0);
    expect(passphraseStrength("abc").score).toBe(0);
    expect(passphraseStrength("abc").hint).toMatch(/12 characters/);
  });
  it("penalises common words and names the word", () => {
    const s = passphraseStrength("Password123!");
    expect(s.score).toBeLessThan(MIN_ACCEPTED_SCORE);
    expect(s.hint).toContain("password");
  });
  it("penalises runs and sequences", () => {
    expect(passphraseStrength("aaaaaaaaaaaaaaaa").score).toBeLessThan(passphraseStrength("kq8vz2mw").score + 1);
    expect(passphraseStrength("abcdefghijklmnop").bits).toBeLessThan(passphraseStrength("qzmvkwtrpxjhbnfd").bits);
  });
  it("accepts four unrelated words", () => {
    const s = passphraseStrength("correct horse battery staple");
    expect(s.score).toBeGreaterThanOrEqual(MIN_ACCEPTED_SCORE);
    expect(s.hint).toBeNull();
  });
  it("grows monotonically when a word is appended", () => {
    const a = passphraseStrength("violet harbour");
    const b = passphraseStrength("violet harbour trumpet");
    expect(b.bits).toBeGreaterThan(a.bits);
  });
});
