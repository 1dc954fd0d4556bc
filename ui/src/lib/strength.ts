// Passphrase strength: a conservative entropy estimate with penalties for the patterns people reuse.

export interface Strength {
  /** 0 (very weak) … 4 (strong). */
  score: 0 | 1 | 2 | 3 | 4;
  label: string;
  bits: number;
  hint: string | null;
}

const COMMON = [
  "password", "passwort", "letmein", "qwerty", "azerty", "123456", "111111", "iloveyou", "admin", "welcome",
  "monkey", "dragon", "football", "baseball", "sunshine", "princess", "locket", "secret", "abc123",
];

const LABELS = ["Very weak", "Weak", "Fair", "Good", "Strong"] as const;

function charsetSize(s: string): number {
  let size = 0;
  if (/[a-z]/.test(s)) size += 26;
  if (/[A-Z]/.test(s)) size += 26;
  if (/[0-9]/.test(s)) size += 10;
  if (/[^a-zA-Z0-9\s]/.test(s)) size += 33;
  if (/\s/.test(s)) size += 1;
  if (/[^\x00-\x7f]/.test(s)) size += 100;
  return Math.max(size, 1);
}

/** Length after collapsing runs ("aaaa") and straight sequences ("abcd", "1234") to one character each. */
function effectiveLength(s: string): number {
  let len = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const p = i > 0 ? s.charCodeAt(i - 1) : -10;
    if (c === p || c === p + 1 || c === p - 1) len += 0.25;
    else len += 1;
  }
  return len;
}

export function passphraseStrength(pass: string): Strength {
  if (pass.length === 0) return { score: 0, label: LABELS[0], bits: 0, hint: "Enter a passphrase." };
  const lower = pass.toLowerCase();
  let bits = effectiveLength(pass) * Math.log2(charsetSize(pass));
  let hint: string | null = null;
  for (const w of COMMON) {
    if (lower.includes(w)) {
      bits -= w.length * 3.5;
      hint = `Avoid common words like “${w}”.`;
    }
  }
  // Words separated by spaces or dashes: credit each extra word, it is how memorable passphrases get strong.
  const words = pass.split(/[\s\-_.]+/).filter((w) => w.length >= 3);
  if (words.length >= 4) bits += 8;
  bits = Math.max(0, Math.round(bits));
  const score: Strength["score"] = bits < 28 ? 0 : bits < 40 ? 1 : bits < 56 ? 2 : bits < 72 ? 3 : 4;
  if (!hint && score < 3) {
    hint =
      pass.length < 12
        ? "Use at least 12 characters — four unrelated words work well."
        : "Add another word or mix in digits and symbols.";
  }
  return { score, label: LABELS[score], bits, hint };
}

/** The create and change screens accept "Good" (3) and above. */
export const MIN_ACCEPTED_SCORE = 3;
