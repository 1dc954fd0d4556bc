// A QR code of the "Share with Locket" link, as a standalone SVG: for a customer whose Locket runs on another
// device (a phone) than the browser showing the shop's page.

import qrcode from "qrcode-generator";

/** Options of {@link connectQrSvg}. */
export interface QrSvgOptions {
  /** Width and height of one module in SVG user units (default 4). */
  moduleSize?: number;
  /** The quiet zone around the code, in modules (default 4, what the QR standard asks for; at least 2). */
  margin?: number;
  /** The `<title>` (the code's accessible name); default "Share with Locket: scan with the Locket app". */
  title?: string;
  /** Colour of the dark modules (default `#000`). */
  color?: string;
  /** Colour of the background and quiet zone (default `#fff`). */
  background?: string;
}

/** The QR code of a text: its modules, row by row (`true` = dark). Error correction M, byte mode, UTF-8. */
export function qrModules(text: string): boolean[][] {
  // qrcode-generator takes one byte per character in byte mode: give it the UTF-8 bytes as such characters.
  const bytes = Buffer.from(text, "utf8");
  const qr = qrcode(0, "M");
  qr.addData(String.fromCharCode(...bytes), "Byte");
  qr.make();
  const n = qr.getModuleCount();
  return Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => qr.isDark(r, c)));
}

const escapeXml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[ch]!);
const COLOR = /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{1,32}|(rgb|hsl)a?\([0-9.,%\s]{1,64}\))$/;

/**
 * A standalone SVG document (a string starting `<svg`) showing `link` — normally {@link connectLink}'s
 * `locket://connect?request_uri=…` — as a QR code: error correction M, a quiet zone of `margin` modules, one
 * `<path>` of dark modules with `shape-rendering="crispEdges"`, `role="img"`, `aria-label` and a `<title>` (no `id`, so several can share a page). The same link
 * always gives the same SVG. Serve it as `image/svg+xml`, or put it inline in the page.
 *
 * @throws Error if the link is empty or too long for a QR code (about 2,300 bytes at level M), or an option is out of range.
 */
export function connectQrSvg(link: string, options: QrSvgOptions = {}): string {
  if (typeof link !== "string" || link.length === 0) throw new Error("connectQrSvg: the link is empty");
  const size = options.moduleSize ?? 4;
  const margin = options.margin ?? 4;
  if (!Number.isInteger(size) || size < 1 || size > 64) throw new Error("connectQrSvg: moduleSize is an integer from 1 to 64");
  if (!Number.isInteger(margin) || margin < 2 || margin > 16) throw new Error("connectQrSvg: margin is an integer from 2 to 16");
  const color = options.color ?? "#000";
  const background = options.background ?? "#fff";
  for (const [name, c] of [["color", color], ["background", background]] as const) {
    if (!COLOR.test(c)) throw new Error(`connectQrSvg: ${name} is not a CSS colour`);
  }
  let modules: boolean[][];
  try {
    modules = qrModules(link);
  } catch (e) {
    throw new Error(`connectQrSvg: the link does not fit in a QR code (${(e as Error).message})`);
  }
  const n = modules.length;
  const full = (n + 2 * margin) * size;
  // One path: each run of dark modules in a row is one rectangle.
  let d = "";
  modules.forEach((row, r) => {
    for (let c = 0; c < n; c++) {
      if (!row[c]) continue;
      let end = c;
      while (end + 1 < n && row[end + 1]) end++;
      d += `M${(margin + c) * size} ${(margin + r) * size}h${(end - c + 1) * size}v${size}h-${(end - c + 1) * size}z`;
      c = end;
    }
  });
  const title = escapeXml(options.title ?? "Share with Locket: scan with the Locket app");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${full} ${full}" width="${full}" height="${full}" ` +
    `role="img" aria-label="${title}" shape-rendering="crispEdges">` +
    `<title>${title}</title>` +
    `<rect width="${full}" height="${full}" fill="${background}"/>` +
    `<path fill="${color}" d="${d}"/>` +
    `</svg>\n`
  );
}
