// Characters Locket refuses in a retailer's text (crates/wire/src/text.rs `is_refused`).

// eslint-disable-next-line no-control-regex
const REFUSED = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u;

/** The first refused character of `s` as `U+XXXX`, or `undefined`. */
export function firstRefused(s: string): string | undefined {
  const m = REFUSED.exec(s);
  return m ? `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}` : undefined;
}
