// The "Share with Locket" QR code: what the SVG draws is the code of the link, at level M, with a quiet zone.
import jsQRModule from "jsqr";
import { describe, expect, it } from "vitest";
import { connectLink, connectQrSvg, qrModules } from "../src/index.js";

// jsqr is CommonJS with an `export default` in its types: take the function from wherever Node put it.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as typeof jsQRModule.default;

const LINK = connectLink("https://shop.example/locket/requests/Gf0FtjN6wCWoUo8sTYBxGA");
// Byte-mode capacity at level M of versions 1 to 10 (ISO/IEC 18004 table 7).
const CAPACITY_M = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213];

/** The dark modules the SVG's path draws, as a grid of `count` modules (quiet zone included). */
function rasterise(svg: string, moduleSize: number, count: number): boolean[][] {
  const grid = Array.from({ length: count }, () => Array<boolean>(count).fill(false));
  const d = /<path fill="[^"]+" d="([^"]*)"\/>/.exec(svg)![1]!;
  for (const m of d.matchAll(/M(\d+) (\d+)h(\d+)v(\d+)h-(\d+)z/g)) {
    const [x, y, w, h, back] = m.slice(1).map(Number) as [number, number, number, number, number];
    expect([h, back]).toEqual([moduleSize, w]);
    for (let c = x / moduleSize; c < (x + w) / moduleSize; c++) grid[y / moduleSize]![c] = true;
  }
  return grid;
}

/** The format information of a symbol (the copy beside the top-left finder): [error correction bits, mask]. */
function formatInfo(m: boolean[][]): [number, number] {
  const n = m.length;
  let bits = 0;
  for (let i = 0; i < 15; i++) {
    const row = i < 6 ? i : i < 8 ? i + 1 : n - 15 + i;
    if (m[row]![8]) bits |= 1 << i;
  }
  const data = (bits ^ 0x5412) >> 10;
  // A valid BCH(15,5) code word: the remainder of data·x^10 by the generator 0x537 is the low 10 bits.
  let rem = data << 10;
  for (let i = 14; i >= 10; i--) if (rem & (1 << i)) rem ^= 0x537 << (i - 10);
  expect(rem).toBe((bits ^ 0x5412) & 0x3ff);
  return [data >> 3, data & 7];
}

describe("connectQrSvg", () => {
  it("is one SVG element with a title, crisp edges and a white quiet zone", () => {
    const svg = connectQrSvg(LINK);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 (\d+) \1" width="\1" height="\1" role="img" aria-label="[^"<]+" shape-rendering="crispEdges"><title>[^<]+<\/title><rect width="\1" height="\1" fill="#fff"\/><path fill="#000" d="[Mhvz0-9 -]+"\/><\/svg>\n$/);
    expect(svg).toContain("<title>Share with Locket: scan with the Locket app</title>");
    expect(connectQrSvg(LINK, { title: `Scan <"me"> & go` })).toContain("<title>Scan &lt;&quot;me&quot;&gt; &amp; go</title>");
  });

  it("draws exactly the modules of the link's code, at level M, in the smallest version that holds it", () => {
    const modules = qrModules(LINK);
    const version = CAPACITY_M.findIndex((c) => c >= Buffer.byteLength(LINK)) + 1;
    expect(LINK.length).toBe(100);
    expect(version).toBe(6);
    expect(modules.length).toBe(17 + 4 * version);
    expect(formatInfo(modules)[0]).toBe(0b00); // level M
    const size = 3;
    const margin = 4;
    const n = modules.length + 2 * margin;
    const svg = connectQrSvg(LINK, { moduleSize: size, margin });
    expect(svg).toContain(`viewBox="0 0 ${n * size} ${n * size}"`);
    const grid = rasterise(svg, size, n);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const inside = r >= margin && c >= margin && r < n - margin && c < n - margin;
        expect(grid[r]![c]).toBe(inside ? modules[r - margin]![c - margin] : false);
      }
    }
    // The three finder patterns: a dark 7×7 ring around a dark 3×3 centre.
    for (const [r0, c0] of [[0, 0], [0, modules.length - 7], [modules.length - 7, 0]] as const) {
      for (let i = 0; i < 7; i++) for (let j = 0; j < 7; j++) {
        const ring = i === 0 || j === 0 || i === 6 || j === 6;
        const centre = i >= 2 && i <= 4 && j >= 2 && j <= 4;
        expect(modules[r0 + i]![c0 + j]).toBe(ring || centre);
      }
    }
  });

  it("decodes back to the link (jsQR reading the SVG's modules as pixels)", () => {
    for (const link of [LINK, connectLink("https://shop.example:8443/r/é-ü?x=1&y=2"), "locket://connect?request_uri=" + "a".repeat(400)]) {
      const size = 4;
      const n = qrModules(link).length + 8;
      const grid = rasterise(connectQrSvg(link, { moduleSize: size }), size, n);
      const px = n * size;
      const rgba = new Uint8ClampedArray(px * px * 4);
      for (let y = 0; y < px; y++) for (let x = 0; x < px; x++) {
        const v = grid[Math.floor(y / size)]![Math.floor(x / size)] ? 0 : 255;
        rgba.set([v, v, v, 255], (y * px + x) * 4);
      }
      expect(jsQR(rgba, px, px)?.data).toBe(link);
    }
  });

  it("is deterministic, and differs for another link", () => {
    expect(connectQrSvg(LINK)).toBe(connectQrSvg(LINK));
    expect(connectQrSvg(LINK)).not.toBe(connectQrSvg(LINK.replace("GA", "GB")));
  });

  it("refuses an empty link, one too long for a QR code, and unusable options", () => {
    expect(() => connectQrSvg("")).toThrow(/empty/);
    expect(() => connectQrSvg("x".repeat(3000))).toThrow(/does not fit/);
    expect(() => connectQrSvg(LINK, { margin: 0 })).toThrow(/margin/);
    expect(() => connectQrSvg(LINK, { color: '"/><script>' })).toThrow(/colour/);
  });
});
