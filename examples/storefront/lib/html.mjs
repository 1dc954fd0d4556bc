// The shop's pages, rendered on the server. Every value that came from a customer's Locket goes through
// `escapeHtml` (text and attributes alike); the pages carry no inline script or style, so the CSP can forbid both.

import { connectQrSvg } from "@locket/retailer";
import { personalise, PRODUCTS, SIZES, STYLES } from "./catalog.mjs";
import { logoSvg, swatchSvg } from "./swatch.mjs";

const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** `value` as text safe in HTML content and in quoted attributes. */
export function escapeHtml(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** A delivered value as text: a list joined with commas, anything else as it reads. */
export function valueText(value) {
  if (Array.isArray(value)) return value.map(String).join(", ");
  if (value !== null && typeof value === "object") return JSON.stringify(value);
  return String(value ?? "");
}

/** "7 December 2026" (UTC). */
export function dateText(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
}

/** "7 December 2026, 10:04 UTC". */
export function timeText(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const time = d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
  return `${dateText(iso)}, ${time} UTC`;
}

const money = (n) => `£${n}`;

/**
 * The same link as a QR code, for a customer who has Locket on another computer: the SDK's `connectQrSvg` (an SVG
 * with no script or inline style, so the page's CSP holds).
 */
export function shareQrCode(link) {
  return `<figure class="share-qr" data-testid="share-qr">${connectQrSvg(link, { title: "Share with Locket: scan with the Locket app on another computer" })}<figcaption>Locket on another computer? Scan this code.</figcaption></figure>`;
}

/** The whole page around `content`; `me` is the `/api/me` answer the page was drawn from (app.js compares it). */
export function layout({ shop, title, content, me, active }) {
  const nav = [
    ["/", "Shop", "shop"],
    ["/holdings", "What we hold about you", "holdings"],
    ["/privacy", "Privacy", "privacy"],
  ]
    .map(([href, text, key]) => `<a href="${href}"${key === active ? ' aria-current="page"' : ""}>${text}</a>`)
    .join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · ${escapeHtml(shop.name)}</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/style.css">
<script src="/app.js" defer></script>
</head>
<body>
<header class="site-header">
  <div class="wrap header-row">
    <a class="brand" href="/">${logoSvg()}<span>${escapeHtml(shop.name)}</span></a>
    <nav class="site-nav" aria-label="Main">${nav}</nav>
  </div>
</header>
<main id="app" class="wrap" data-me="${escapeHtml(JSON.stringify(me))}">
${content}
</main>
<footer class="site-footer">
  <div class="wrap footer-row">
    <p>${escapeHtml(shop.name)} is a demonstration shop for Locket: nothing here is for sale.</p>
    <p><a href="/privacy">Privacy</a> · <a href="/holdings">What we hold about you</a> · <a href="mailto:${escapeHtml(shop.contact)}">${escapeHtml(shop.contact)}</a></p>
  </div>
</footer>
</body>
</html>
`;
}

/** The "Share with Locket" panel: what is asked, why, and the button with this session's one-time link. */
export function sharePanel(link, { again = false } = {}) {
  return `<section class="share-panel" aria-labelledby="share-title">
  <div class="share-copy">
    <p class="eyebrow">Private by design</p>
    <h2 id="share-title">${again ? "Want the shop in your size again?" : "See the whole shop in your size"}</h2>
    <p>We ask your Locket for three things — your preferred name to greet you, your clothing size to show every
    item in it, and the styles you like to put them first — for 30 days at most. You decide in Locket what to
    share, and the moment you stop sharing we erase it.</p>
    <ul class="asks">
      <li><strong>Preferred name</strong><span>to greet you</span></li>
      <li><strong>Clothing size</strong><span>to show what fits</span></li>
      <li><strong>Styles you like</strong><span>to show them first</span></li>
    </ul>
    <p class="benefit"><span aria-hidden="true">✦</span> Free delivery on your first order when you share.</p>
    <div class="share-actions">
      <a id="share-with-locket" class="locket-button" href="${escapeHtml(link)}">${lockSvg()}Share with Locket</a>
      <span class="fine">Opens the Locket app on this computer. Nothing is sent until you approve.</span>
    </div>
  </div>
  ${shareQrCode(link)}
</section>`;
}

function lockSvg() {
  return `<svg class="lock" viewBox="0 0 20 20" aria-hidden="true" focusable="false"><rect x="3.5" y="8.5" width="13" height="9" rx="2" fill="currentColor"/><path d="M6.5 8.5 V6 a3.5 3.5 0 0 1 7 0 V8.5" fill="none" stroke="currentColor" stroke-width="2"/></svg>`;
}

function productCard(p) {
  const badge = p.matches
    ? `<span class="badge" title="${escapeHtml(p.matchedStyles.map((s) => STYLES[s]).join(", "))}">Matches your style</span>`
    : "";
  const sizes = p.size
    ? `<span class="size-chip is-yours">Size ${escapeHtml(p.size)}</span>`
    : `<span class="size-range">${SIZES[0]}–${SIZES[SIZES.length - 1]}</span>`;
  const tags = p.styles
    .map((s) => `<li${p.matchedStyles.includes(s) ? ' class="is-liked"' : ""}>${escapeHtml(STYLES[s])}</li>`)
    .join("");
  return `<article class="product${p.matches ? " is-match" : ""}" data-product="${escapeHtml(p.id)}"${p.size ? ` data-size="${escapeHtml(p.size)}"` : ""}>
    <div class="swatch swatch-${escapeHtml(p.shape)}">${swatchSvg(p)}${badge}</div>
    <div class="product-body">
      <h3>${escapeHtml(p.name)}</h3>
      <p class="blurb">${escapeHtml(p.blurb)}</p>
      <ul class="tags" aria-label="Styles">${tags}</ul>
      <p class="product-meta"><span class="price">${money(p.price)}</span>${sizes}</p>
    </div>
  </article>`;
}

/** The product page's content for a visitor whose view is `me`; `link` is the share link (when not shared). */
export function productPage({ me, link, endedAt }) {
  const parts = [];
  let products;
  if (me.status === "shared") {
    const name = me.name ? `, ${escapeHtml(me.name)}` : "";
    const size = me.size ? `<span id="your-size">${escapeHtml(me.size)}</span>` : "";
    const liked = (me.styles ?? []).map((s) => STYLES[s]).filter(Boolean);
    const sentences = [];
    if (size) sentences.push(`Everything below is shown in your size, ${size}.`);
    if (liked.length) sentences.push(`Pieces that match your style (${escapeHtml(liked.join(", "))}) come first.`);
    parts.push(`<section class="welcome" aria-live="polite">
  <div>
    <p class="eyebrow">Shared from your Locket</p>
    <h2 id="greeting">Welcome back${name}</h2>
    <p>${sentences.join(" ") || "Thanks for sharing."}</p>
  </div>
  <p class="welcome-meta">Since ${escapeHtml(dateText(me.since))}${me.updated && me.updated !== me.since ? ` · updated ${escapeHtml(timeText(me.updated))}` : ""}<br><a href="/holdings">What we hold about you</a></p>
</section>`);
    products = personalise(PRODUCTS, { size: me.size, styles: me.styles });
  } else {
    if (me.status === "erased") {
      parts.push(`<p id="erased" class="notice" role="status">Done — you stopped sharing on ${escapeHtml(dateText(endedAt ?? me.erased_at))}; we erased what you shared.</p>`);
    } else {
      const art = ["alder-wool-overcoat", "fjell-shell-jacket", "ridge-fleece-pullover"]
        .map((id) => PRODUCTS.find((p) => p.id === id))
        .map((p) => `<div class="hero-piece">${swatchSvg(p)}</div>`)
        .join("");
      parts.push(`<section class="hero">
  <div class="hero-copy">
    <p class="eyebrow">Autumn collection</p>
    <h1>Clothes for the long way round</h1>
    <p>Hard-wearing layers, easy shirts and soft knits, made to be worn for years.</p>
  </div>
  <div class="hero-art" aria-hidden="true">${art}</div>
</section>`);
    }
    parts.push(sharePanel(link, { again: me.status === "erased" }));
    products = personalise(PRODUCTS);
  }
  const heading = me.status === "shared" ? "Picked for you" : "New this season";
  parts.push(`<section class="catalogue" aria-labelledby="catalogue-title">
  <div class="section-head"><h2 id="catalogue-title">${heading}</h2><p>${products.length} pieces</p></div>
  <div class="grid">
${products.map(productCard).join("\n")}
  </div>
</section>`);
  return parts.join("\n");
}

/** What the shop holds about this visitor: each grant, its values (or what was erased), its history. */
export function holdingsPage({ grants }) {
  if (!grants.length) {
    return `<section class="page-head"><h1>What we hold about you</h1>
  <p>Nothing. You have not shared anything from Locket with us in this browser.</p>
  <p>When you do, this page lists every value we receive, its version and when it arrived — and, when you stop
  sharing, what we erased and when. <a href="/">Back to the shop</a></p></section>`;
  }
  const sections = grants.map((g) => {
    const ended = g.ended
      ? `<span class="state state-ended">${g.ended.event === "revoke" ? "Stopped" : "Ended"} ${escapeHtml(timeText(g.ended.at))}</span>`
      : `<span class="state state-active">Active</span>`;
    const values = Object.entries(g.values);
    let held;
    if (values.length) {
      held = `<table class="data">
  <thead><tr><th scope="col">Field</th><th scope="col">Value</th><th scope="col">Version</th><th scope="col">Received</th></tr></thead>
  <tbody>
${values.map(([key, v]) => `    <tr data-field="${escapeHtml(key)}"><th scope="row">${escapeHtml(v.label)}</th><td class="value">${escapeHtml(valueText(v.value))}</td><td>${escapeHtml(v.version)}</td><td>${escapeHtml(timeText(v.received_at))}</td></tr>`).join("\n")}
  </tbody>
</table>`;
    } else if (g.erased) {
      const what = g.erased.labels.length ? escapeHtml(g.erased.labels.join(", ")) : "nothing was held";
      held = `<p class="erased-note" id="erased-${escapeHtml(g.grantId)}">On ${escapeHtml(timeText(g.erased.at))} we erased what this grant gave us: ${what}. We hold no values from it.</p>`;
    } else {
      held = `<p class="erased-note">We hold no values from this grant.</p>`;
    }
    const history = g.history
      .map((h) => {
        let detail = "";
        if (h.fields) detail = h.fields.map((f) => `${f.label} v${f.version}`).join(", ");
        else if (h.event === "erased") detail = h.labels.length ? `erased ${h.labels.join(", ")}` : "nothing to erase";
        else if (h.ended_at) detail = `ended ${timeText(h.ended_at)}`;
        const seq = h.sequence === undefined ? "" : `#${h.sequence}`;
        return `    <tr data-event="${escapeHtml(h.event)}"><td><span class="event event-${escapeHtml(h.event)}">${escapeHtml(h.event)}</span></td><td>${escapeHtml(seq)}</td><td>${escapeHtml(timeText(h.at))}</td><td>${escapeHtml(detail)}</td></tr>`;
      })
      .join("\n");
    return `<section class="grant-card" data-grant="${escapeHtml(g.grantId)}">
  <div class="grant-head">
    <div><h2>Grant <code>${escapeHtml(g.grantId)}</code></h2>
    <p>First received ${escapeHtml(timeText(g.received_at))}${g.expires_at ? ` · valid until ${escapeHtml(timeText(g.expires_at))}` : ""}</p></div>
    ${ended}
  </div>
  ${held}
  <h3>Releases received</h3>
  <table class="data history">
  <thead><tr><th scope="col">Event</th><th scope="col">Sequence</th><th scope="col">Received</th><th scope="col">Details</th></tr></thead>
  <tbody>
${history}
  </tbody>
  </table>
</section>`;
  });
  return `<section class="page-head"><h1>What we hold about you</h1>
  <p>Everything your Locket sent us from this browser's session, as we store it. We use it only to greet you and
  tailor the shop, and erase it when you stop sharing or the grant ends.</p></section>
${sections.join("\n")}`;
}

/** The privacy policy the shop's metadata points to. */
export function privacyPage({ shop }) {
  const name = escapeHtml(shop.name);
  return `<section class="page-head prose"><h1>Privacy at ${name}</h1>
  <p>${name} does not keep customer accounts. If you choose to share from your Locket, we receive only what you
  approve there — at most your preferred name, your clothing size and the styles you like.</p>
  <h2>What we use it for</h2>
  <ul>
    <li><strong>Preferred name</strong> — to greet you when you visit (account management).</li>
    <li><strong>Clothing size</strong> — to show every item in your size (personalised recommendations).</li>
    <li><strong>Styles you like</strong> — to show matching pieces first (personalised recommendations).</li>
  </ul>
  <h2>How long we keep it</h2>
  <p>Only while you share it: a grant lasts 30 days at most, and when you stop sharing in Locket, or the grant
  ends, we erase every value it gave us. When you change a value in Locket, the new one replaces the old.</p>
  <h2>Who else sees it</h2>
  <p>Nobody. We do not sell, rent or pass on what you share, and it is not used for advertising.</p>
  <h2>Your rights</h2>
  <p>See <a href="/holdings">what we hold about you</a> at any time. Stop sharing in Locket to have it erased, or
  write to <a href="mailto:${escapeHtml(shop.contact)}">${escapeHtml(shop.contact)}</a>.</p>
</section>`;
}

/** A short error page. */
export function errorPage({ status, message }) {
  return `<section class="page-head"><h1>${escapeHtml(status)}</h1><p>${escapeHtml(message)}</p><p><a href="/">Back to the shop</a></p></section>`;
}
