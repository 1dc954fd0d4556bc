// The shop's products, and how what a customer shared changes the page: every product in their size, the styles
// they like first. Pure functions, no I/O (unit-tested in test/catalog.test.mjs).

/** The styles Locket's `style.styles` field offers, with the words the shop shows for them. */
export const STYLES = {
  classic: "Classic",
  casual: "Casual",
  minimalist: "Minimalist",
  sporty: "Sporty",
  streetwear: "Streetwear",
  bohemian: "Bohemian",
  vintage: "Vintage",
  formal: "Formal",
  outdoor: "Outdoor",
};

/** The sizes every garment comes in. */
export const SIZES = ["XS", "S", "M", "L", "XL"];

/**
 * The catalogue, in the shop's own order. `shape` picks the drawing (lib/swatch.mjs), `colour` and `trim` its
 * fill; `styles` are keys of {@link STYLES}.
 */
export const PRODUCTS = [
  { id: "harbour-oxford-shirt", name: "Harbour Oxford Shirt", price: 59, shape: "shirt", colour: "#3b5b86", trim: "#f4f1ea", styles: ["classic", "formal"], blurb: "Brushed cotton oxford with a button-down collar." },
  { id: "everyday-crew-tee", name: "Everyday Crew Tee", price: 24, shape: "tee", colour: "#e8e2d6", trim: "#c9c0ae", styles: ["casual", "minimalist"], blurb: "Heavyweight organic cotton, cut to keep its shape." },
  { id: "fjell-shell-jacket", name: "Fjell Shell Jacket", price: 149, shape: "jacket", colour: "#c8553d", trim: "#2f2a26", styles: ["outdoor", "sporty"], blurb: "Three-layer waterproof shell with taped seams." },
  { id: "tarmac-hoodie", name: "Tarmac Hoodie", price: 69, shape: "hoodie", colour: "#3a3d42", trim: "#6b7078", styles: ["streetwear", "casual"], blurb: "Loopback fleece, boxy fit, dropped shoulders." },
  { id: "alder-wool-overcoat", name: "Alder Wool Overcoat", price: 229, shape: "coat", colour: "#7a6a58", trim: "#4d4236", styles: ["classic", "formal"], blurb: "Italian wool blend, fully lined, knee length." },
  { id: "meadow-wrap-dress", name: "Meadow Wrap Dress", price: 89, shape: "dress", colour: "#8fa37e", trim: "#f2e6c9", styles: ["bohemian", "vintage"], blurb: "Floaty viscose wrap with a tie waist." },
  { id: "mono-merino-knit", name: "Mono Merino Knit", price: 99, shape: "knit", colour: "#1f2a36", trim: "#38495c", styles: ["minimalist", "classic"], blurb: "Fine-gauge merino, a crew neck without fuss." },
  { id: "ridge-fleece-pullover", name: "Ridge Fleece Pullover", price: 79, shape: "knit", colour: "#d9a441", trim: "#8a6320", styles: ["outdoor", "vintage"], blurb: "Recycled polar fleece with a snap placket." },
];

/** The style keys among `value` (a delivered `style.styles`: a list, or a comma-separated text), known ones only. */
export function stylesOf(value) {
  const list = Array.isArray(value) ? value : typeof value === "string" ? value.split(",") : [];
  const out = [];
  for (const s of list) {
    const key = String(s).trim().toLowerCase();
    if (Object.hasOwn(STYLES, key) && !out.includes(key)) out.push(key);
  }
  return out;
}

/**
 * The products to show, in order: with `styles`, those matching one of them first (each group keeps the shop's
 * order), each marked `matches`; with `size`, each carries it. Without either, the catalogue as it is.
 */
export function personalise(products, { size, styles } = {}) {
  const liked = new Set(stylesOf(styles));
  const shown = products.map((p, i) => ({
    ...p,
    matches: p.styles.some((s) => liked.has(s)),
    matchedStyles: p.styles.filter((s) => liked.has(s)),
    size: typeof size === "string" && size.trim() ? size.trim() : undefined,
    order: i,
  }));
  shown.sort((a, b) => Number(b.matches) - Number(a.matches) || a.order - b.order);
  return shown;
}
