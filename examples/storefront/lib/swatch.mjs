// Each product is drawn as a small SVG garment in its colours: no image files, nothing fetched from elsewhere.
// Presentation attributes only (fill, stroke), so the page's style-src CSP needs no inline styles.

const LONG_SLEEVES = "M42 18 L26 24 Q16 30 13 48 L8 92 L22 94 L30 54 L32 104 L88 104 L90 54 L98 94 L112 92 L107 48 Q104 30 94 24 L78 18";

const SHAPES = {
  tee: (c, t) => `
    <path d="M42 20 L24 27 L10 46 L25 55 L33 46 L33 102 L87 102 L87 46 L95 55 L110 46 L96 27 L78 20 Q60 32 42 20 Z" fill="${c}"/>
    <path d="M42 20 Q60 32 78 20" fill="none" stroke="${t}" stroke-width="3"/>`,
  shirt: (c, t) => `
    <path d="${LONG_SLEEVES} Q60 30 42 18 Z" fill="${c}"/>
    <path d="M42 18 L52 34 L60 26 L68 34 L78 18 Q60 24 42 18 Z" fill="${t}"/>
    <path d="M60 28 L60 104" stroke="${t}" stroke-width="1.5"/>
    <circle cx="60" cy="44" r="1.8" fill="${t}"/><circle cx="60" cy="60" r="1.8" fill="${t}"/>
    <circle cx="60" cy="76" r="1.8" fill="${t}"/><circle cx="60" cy="92" r="1.8" fill="${t}"/>`,
  jacket: (c, t) => `
    <path d="${LONG_SLEEVES} Q60 26 42 18 Z" fill="${c}"/>
    <path d="M48 16 Q60 10 72 16 L72 24 Q60 30 48 24 Z" fill="${c}" stroke="${t}" stroke-width="2"/>
    <path d="M60 26 L60 104" stroke="${t}" stroke-width="3"/>
    <path d="M40 70 L52 70 M68 70 L80 70" stroke="${t}" stroke-width="2.5" stroke-linecap="round"/>
    <path d="M32 98 L88 98" stroke="${t}" stroke-width="3"/>`,
  hoodie: (c, t) => `
    <path d="${LONG_SLEEVES} Q60 30 42 18 Z" fill="${c}"/>
    <path d="M36 22 Q38 8 60 8 Q82 8 84 22 Q60 40 36 22 Z" fill="${t}"/>
    <path d="M46 20 Q60 32 74 20 Q60 13 46 20 Z" fill="${c}"/>
    <path d="M54 30 L53 48 M66 30 L67 48" stroke="${t}" stroke-width="2" stroke-linecap="round"/>
    <path d="M44 70 L76 70 L72 88 L48 88 Z" fill="none" stroke="${t}" stroke-width="2.5"/>`,
  coat: (c, t) => `
    <path d="M42 14 L26 20 Q16 26 13 44 L8 90 L22 92 L30 50 L30 116 L90 116 L90 50 L98 92 L112 90 L107 44 Q104 26 94 20 L78 14 Q60 24 42 14 Z" fill="${c}"/>
    <path d="M42 14 L56 48 L60 40 L64 48 L78 14 L70 14 L60 32 L50 14 Z" fill="${t}"/>
    <circle cx="52" cy="62" r="2.2" fill="${t}"/><circle cx="68" cy="62" r="2.2" fill="${t}"/>
    <circle cx="52" cy="80" r="2.2" fill="${t}"/><circle cx="68" cy="80" r="2.2" fill="${t}"/>`,
  dress: (c, t) => `
    <path d="M46 12 L40 16 L34 34 L44 38 L46 52 L26 112 L94 112 L74 52 L76 38 L86 34 L80 16 L74 12 Q60 26 46 12 Z" fill="${c}"/>
    <path d="M44 52 L76 52" stroke="${t}" stroke-width="4"/>
    <path d="M66 52 Q72 62 68 72 M66 52 Q62 64 58 70" fill="none" stroke="${t}" stroke-width="2" stroke-linecap="round"/>
    <circle cx="50" cy="84" r="2" fill="${t}"/><circle cx="66" cy="92" r="2" fill="${t}"/><circle cx="78" cy="100" r="2" fill="${t}"/>
    <circle cx="42" cy="102" r="2" fill="${t}"/><circle cx="58" cy="106" r="2" fill="${t}"/>`,
  knit: (c, t) => `
    <path d="${LONG_SLEEVES} Q60 30 42 18 Z" fill="${c}"/>
    <path d="M42 18 Q60 34 78 18" fill="none" stroke="${t}" stroke-width="5"/>
    <path d="M32 96 L88 96 L88 104 L32 104 Z M8 86 L22 88 L22 94 L8 92 Z M112 86 L98 88 L98 94 L112 92 Z" fill="${t}"/>`,
};

/** An SVG drawing of `product` (decorative: the product's name is next to it). */
export function swatchSvg(product) {
  const draw = SHAPES[product.shape] ?? SHAPES.tee;
  const colour = /^#[0-9a-f]{6}$/i.test(product.colour) ? product.colour : "#888888";
  const trim = /^#[0-9a-f]{6}$/i.test(product.trim) ? product.trim : "#cccccc";
  return `<svg class="swatch-art" viewBox="0 0 120 120" aria-hidden="true" focusable="false">${draw(colour, trim)}</svg>`;
}

/** The shop's logo mark: a compass rose. */
export function logoSvg() {
  return `<svg class="logo-mark" viewBox="0 0 32 32" aria-hidden="true" focusable="false"><circle cx="16" cy="16" r="15" fill="none" stroke="currentColor" stroke-width="2"/><path d="M16 4 L19.5 16 L16 28 L12.5 16 Z" fill="currentColor"/><path d="M4 16 L16 13 L28 16 L16 19 Z" fill="currentColor" opacity=".45"/></svg>`;
}
