// PASERK key ids and PASETO v4.public verification, with node:crypto alone: what a retailer needs to check the
// grant file a first release carries (its key id and its consent receipt's signature) without a PASETO library.

import { createPublicKey, verify, type KeyObject } from "node:crypto";

const PUBLIC_PREFIX = "k4.public.";
const PID_PREFIX = "k4.pid.";

/** Strict base64url without padding (what PASETO, PASERK and JOSE write). `undefined` if it is not. */
export function fromB64u(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, "base64url");
  // A non-canonical last character (unused bits set) is refused, as Rust's base64 engine does.
  return bytes.toString("base64url") === text ? bytes : undefined;
}

// BLAKE2b (RFC 7693) with a chosen digest length, unkeyed; PASERK ids need 33 bytes, which Node's
// `blake2b512` cannot give (the length is a parameter of the hash, not a truncation).
const MASK = (1n << 64n) - 1n;
const IV = [
  0x6a09e667f3bcc908n, 0xbb67ae8584caa73bn, 0x3c6ef372fe94f82bn, 0xa54ff53a5f1d36f1n,
  0x510e527fade682d1n, 0x9b05688c2b3e6c1fn, 0x1f83d9abfb41bd6bn, 0x5be0cd19137e2179n,
];
const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];
const rotr = (x: bigint, n: bigint) => ((x >> n) | (x << (64n - n))) & MASK;

/** BLAKE2b of `data` with an `outLength`-byte digest (1 to 64). */
export function blake2b(data: Uint8Array, outLength: number): Buffer {
  const h = IV.slice();
  h[0] = h[0]! ^ 0x01010000n ^ BigInt(outLength);
  const blocks = Math.max(1, Math.ceil(data.length / 128));
  for (let b = 0; b < blocks; b++) {
    const block = Buffer.alloc(128);
    block.set(data.subarray(b * 128, b * 128 + 128));
    const last = b === blocks - 1;
    const t = BigInt(last ? data.length : (b + 1) * 128);
    const m = Array.from({ length: 16 }, (_, i) => block.readBigUInt64LE(i * 8));
    const v = [...h, ...IV];
    v[12] = v[12]! ^ t;
    if (last) v[14] = v[14]! ^ MASK;
    const g = (a: number, bb: number, c: number, d: number, x: bigint, y: bigint) => {
      v[a] = (v[a]! + v[bb]! + x) & MASK;
      v[d] = rotr(v[d]! ^ v[a]!, 32n);
      v[c] = (v[c]! + v[d]!) & MASK;
      v[bb] = rotr(v[bb]! ^ v[c]!, 24n);
      v[a] = (v[a]! + v[bb]! + y) & MASK;
      v[d] = rotr(v[d]! ^ v[a]!, 16n);
      v[c] = (v[c]! + v[d]!) & MASK;
      v[bb] = rotr(v[bb]! ^ v[c]!, 63n);
    };
    for (let r = 0; r < 12; r++) {
      const s = SIGMA[r % 10]!;
      g(0, 4, 8, 12, m[s[0]!]!, m[s[1]!]!);
      g(1, 5, 9, 13, m[s[2]!]!, m[s[3]!]!);
      g(2, 6, 10, 14, m[s[4]!]!, m[s[5]!]!);
      g(3, 7, 11, 15, m[s[6]!]!, m[s[7]!]!);
      g(0, 5, 10, 15, m[s[8]!]!, m[s[9]!]!);
      g(1, 6, 11, 12, m[s[10]!]!, m[s[11]!]!);
      g(2, 7, 8, 13, m[s[12]!]!, m[s[13]!]!);
      g(3, 4, 9, 14, m[s[14]!]!, m[s[15]!]!);
    }
    for (let i = 0; i < 8; i++) h[i] = h[i]! ^ v[i]! ^ v[i + 8]!;
  }
  const out = Buffer.alloc(64);
  h.forEach((word, i) => out.writeBigUInt64LE(word, i * 8));
  return out.subarray(0, outLength);
}

/** The raw 32-byte Ed25519 key of a PASERK `k4.public.…` key; throws if it is not one. */
export function publicKeyBytes(paserk: string): Buffer {
  const raw = paserk.startsWith(PUBLIC_PREFIX) ? fromB64u(paserk.slice(PUBLIC_PREFIX.length)) : undefined;
  if (!raw || raw.length !== 32) throw new Error("not a PASERK k4.public key");
  return raw;
}

/** The PASERK id (`k4.pid.…`) of a `k4.public.…` key: what a grant's `key_id` and a release's JWS `kid` are. */
export function keyIdOf(paserk: string): string {
  publicKeyBytes(paserk);
  const digest = blake2b(Buffer.from(PID_PREFIX + paserk, "utf8"), 33);
  return PID_PREFIX + digest.toString("base64url");
}

/** The JWK of a `k4.public.…` key (`{"kty":"OKP","crv":"Ed25519","x":…}`). */
export function jwkOfPaserk(paserk: string): { kty: "OKP"; crv: "Ed25519"; x: string } {
  return { kty: "OKP", crv: "Ed25519", x: publicKeyBytes(paserk).toString("base64url") };
}

/** A node:crypto public key for a `k4.public.…` key. */
export function keyObjectOfPaserk(paserk: string): KeyObject {
  return createPublicKey({ key: jwkOfPaserk(paserk), format: "jwk" });
}

/** PASETO's pre-authentication encoding. */
function pae(pieces: Uint8Array[]): Buffer {
  const le64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n) & ((1n << 63n) - 1n));
    return b;
  };
  return Buffer.concat([le64(pieces.length), ...pieces.flatMap((p) => [le64(p.length), p])]);
}

/** The message of a `v4.public` token, unverified, or `undefined` if it has not that form. */
export function peekV4Public(token: string): { message: Buffer; signature: Buffer; footer: Buffer } | undefined {
  const parts = token.split(".");
  if (parts.length < 3 || parts.length > 4 || parts[0] !== "v4" || parts[1] !== "public") return undefined;
  const body = fromB64u(parts[2]!);
  const footer = parts.length === 4 ? fromB64u(parts[3]!) : Buffer.alloc(0);
  if (!body || !footer || body.length < 64) return undefined;
  return { message: body.subarray(0, body.length - 64), signature: body.subarray(body.length - 64), footer };
}

/** Verifies a `v4.public` token with `paserk`, the expected footer and implicit assertion; the message or `undefined`. */
export function verifyV4Public(token: string, paserk: string, footer: string, implicit: string): Buffer | undefined {
  const t = peekV4Public(token);
  if (!t || !t.footer.equals(Buffer.from(footer, "utf8"))) return undefined;
  const m2 = pae([Buffer.from("v4.public."), t.message, t.footer, Buffer.from(implicit, "utf8")]);
  return verify(null, m2, keyObjectOfPaserk(paserk), t.signature) ? t.message : undefined;
}
