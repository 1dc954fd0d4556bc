/** Chart geometry helpers (pure; the SVG components use them). */

/** Axis label text for a count: thousands separated ("5,000"). */
export function axisLabel(v: number): string {
  return v.toLocaleString("en-US");
}

/**
 * Generous width estimate of `text` at `fontSize` in a proportional UI font: digits and most letters are
 * at most ~0.66 em wide; separators and spaces are narrower.
 */
export function textWidth(text: string, fontSize: number): number {
  let em = 0;
  for (const ch of text) em += /[0-9A-Za-z]/.test(ch) ? 0.66 : 0.36;
  return em * fontSize;
}

/**
 * Left padding a plot needs so the longest tick label (right-aligned `gap` units left of the plot) fits
 * inside the drawing, with `margin` to spare at the edge. Never less than `min`.
 */
export function axisPadding(labels: string[], fontSize: number, gap = 6, margin = 4, min = 28): number {
  const widest = Math.max(0, ...labels.map((l) => textWidth(l, fontSize)));
  return Math.max(min, Math.ceil(widest + gap + margin));
}
