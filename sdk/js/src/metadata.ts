// Retailer metadata `locket.retailer/v1`: what a shop serves at https://ORIGIN/.well-known/locket-retailer.json.
// The rules are crates/wire/src/metadata.rs `parse_metadata`'s: a document made here is one Locket accepts.

import { isIP } from "node:net";
import { publicJwks, PRIVATE_MEMBERS, type ShopKeys } from "./keys.js";
import { firstRefused } from "./text.js";
import type { PublicJwk, RetailerMetadata } from "./types.js";

/** The `format` of retailer metadata. */
export const METADATA_FORMAT = "locket.retailer/v1";
/** Where on its origin a shop publishes its metadata. */
export const WELL_KNOWN_PATH = "/.well-known/locket-retailer.json";
/** Largest metadata document Locket accepts, in bytes. */
export const MAX_METADATA_BYTES = 64 * 1024;

/** Input a shop gave this package breaks a rule Locket enforces; `code` is Locket's code for the same refusal. */
export class LocketInputError extends Error {
  /** Locket's stable code (`retailer_metadata_invalid`, `request_object_malformed`, …). */
  readonly code: string;
  /** Each problem as `member: what is wrong`. */
  readonly problems: string[];
  constructor(code: string, problems: string[]) {
    super(problems.join("; "));
    this.name = "LocketInputError";
    this.code = code;
    this.problems = problems;
  }
}

/** The canonical origin of any https URL (`https://` + lowercase domain + `:port` unless 443); throws why not. */
export function originOf(url: string | URL): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`${JSON.stringify(String(url))} is not a URL`);
  }
  if (u.protocol !== "https:") throw new Error(`${JSON.stringify(u.href)} is not an https URL`);
  const host = u.hostname.replace(/\.+$/, "").toLowerCase();
  if (u.hostname.startsWith("[") || isIP(host)) throw new Error(`${JSON.stringify(u.href)} names an address, not a domain`);
  if (!host || (!host.includes(".") && host !== "localhost")) {
    throw new Error(`${JSON.stringify(u.href)} is not a fully qualified domain name`);
  }
  return u.port && u.port !== "443" ? `https://${host}:${u.port}` : `https://${host}`;
}

/**
 * The canonical web origin of `url` as Locket defines it (`web_origin`): https, a domain name (not an address),
 * no user, path, query or fragment; the port only when it is not 443. `https://Shop.Example:443/` gives
 * `https://shop.example`.
 *
 * @throws Error saying why `url` is not an origin.
 */
export function webOrigin(url: string): string {
  const origin = originOf(url);
  const u = new URL(url);
  if (u.username || u.password) throw new Error(`${JSON.stringify(url)} carries a user name or password`);
  if (u.pathname !== "/" || u.href.includes("?") || u.href.includes("#")) {
    throw new Error(`${JSON.stringify(url)} is not an origin (it has a path, query or fragment)`);
  }
  return origin;
}

/** The retailer id of an origin: its host, at most 64 characters of a-z, 0-9, '.', '-', '_'; throws if it cannot be one. */
export function retailerIdOf(origin: string): string {
  const host = new URL(origin).hostname.toLowerCase();
  if (!/^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/.test(host)) {
    throw new Error(`the host of ${JSON.stringify(origin)} cannot serve as a retailer id (at most 64 characters of a-z, 0-9, '.', '-', '_')`);
  }
  return host;
}

/** Who a shop is, as its metadata says. */
export interface ShopDetails {
  /** The shop's origin (`https://shop.example`); written in canonical form. */
  origin: string;
  /** Display name (1–100 characters). */
  name: string;
  /** An email address or https URL for data questions. */
  contact: string;
  /** The privacy policy's URL, on the origin. */
  privacyPolicy: string;
  /** Where Locket delivers releases (POST), on the origin. */
  deliveryUrl: string;
}

/** The problems of a public key set, as `parse_metadata` sees them (empty when Locket accepts it). */
export function keySetProblems(keys: PublicJwk[]): string[] {
  const problems: string[] = [];
  if (keys.length < 2 || keys.length > 16) problems.push("jwks.keys: between 2 and 16 keys");
  const kids = new Set<string>();
  keys.forEach((k, i) => {
    const at = `jwks.keys[${i}]`;
    const raw = k as unknown as Record<string, unknown>;
    for (const m of PRIVATE_MEMBERS) {
      if (m in raw) problems.push(`${at}: a private key member (${m}) would be published; the key is compromised, make a new one`);
    }
    if (typeof k.kid !== "string" || !/^[A-Za-z0-9._:-]{1,128}$/.test(k.kid)) problems.push(`${at}.kid: 1 to 128 of A-Z a-z 0-9 . _ : -`);
    else if (kids.has(k.kid)) problems.push(`${at}.kid: ${JSON.stringify(k.kid)} is used by an earlier key`);
    else kids.add(k.kid);
    if (!/^[A-Za-z0-9_-]{43}$/.test(String(k.x))) problems.push(`${at}.x: 43 base64url characters`);
    const fits =
      (k.use === "sig" && k.kty === "OKP" && k.crv === "Ed25519" && (!k.alg || k.alg === "EdDSA" || k.alg === "Ed25519")) ||
      (k.use === "sig" && k.kty === "EC" && k.crv === "P-256" && (!k.alg || k.alg === "ES256")) ||
      (k.use === "enc" && ((k.kty === "OKP" && k.crv === "X25519") || (k.kty === "EC" && k.crv === "P-256")) && (!k.alg || k.alg === "ECDH-ES"));
    if (!fits) problems.push(`${at}: a ${k.use} key of this type, curve or alg is not accepted`);
    if (k.kty === "EC" && !k.y) problems.push(`${at}: an EC key needs y`);
    if (k.kty === "OKP" && k.y !== undefined) problems.push(`${at}: an OKP key has no y`);
  });
  if (!keys.some((k) => k.use === "sig")) problems.push("jwks.keys: no signing key (use sig)");
  if (!keys.some((k) => k.use === "enc")) problems.push("jwks.keys: no encryption key (use enc)");
  return problems;
}

/**
 * The `locket.retailer/v1` document for a shop with these keys, checked by the rules Locket applies to it
 * (`parse_metadata`): canonical origin, a usable retailer id, privacy policy and delivery URL on the origin, an
 * https contact URL, no refused characters, public keys only, each with `use` and a unique `kid`. Serve it as JSON
 * at {@link WELL_KNOWN_PATH}.
 *
 * @throws LocketInputError (`retailer_metadata_invalid`) listing every problem.
 */
export function shopMetadata(details: ShopDetails, keys: ShopKeys): RetailerMetadata {
  const problems: string[] = [];
  let id = "";
  try {
    id = webOrigin(details.origin);
    retailerIdOf(id);
  } catch (e) {
    problems.push(`origin: ${(e as Error).message}`);
  }
  const texts: [string, string, number, number][] = [
    ["name", details.name, 1, 100],
    ["contact", details.contact, 3, 254],
    ["privacyPolicy", details.privacyPolicy, 1, 2048],
    ["deliveryUrl", details.deliveryUrl, 1, 2048],
  ];
  for (const [member, value, min, max] of texts) {
    if (typeof value !== "string") {
      problems.push(`${member}: a string is needed`);
      continue;
    }
    const bad = firstRefused(value);
    if (bad) problems.push(`${member}: holds ${bad}, a control or text-direction character`);
    if (value.length < min || value.length > max) problems.push(`${member}: ${min} to ${max} characters`);
  }
  for (const [member, value] of [["privacyPolicy", details.privacyPolicy], ["deliveryUrl", details.deliveryUrl]] as const) {
    try {
      const o = originOf(value);
      if (id && o !== id) problems.push(`${member}: is on ${o}, not on the shop's origin ${id}`);
    } catch (e) {
      problems.push(`${member}: ${(e as Error).message}`);
    }
  }
  const c = String(details.contact);
  if (c.startsWith("http:") || (c.includes("://") && !c.startsWith("https://"))) problems.push("contact: a contact URL must be https");
  const jwks = publicJwks(keys);
  problems.push(...keySetProblems(jwks.keys));
  if (problems.length) throw new LocketInputError("retailer_metadata_invalid", problems);
  const doc: RetailerMetadata = {
    format: METADATA_FORMAT,
    id,
    name: details.name,
    contact: details.contact,
    privacy_policy: details.privacyPolicy,
    delivery_url: details.deliveryUrl,
    jwks,
  };
  const size = Buffer.byteLength(JSON.stringify(doc));
  if (size > MAX_METADATA_BYTES) throw new LocketInputError("retailer_metadata_too_large", [`the document is ${size} bytes; at most ${MAX_METADATA_BYTES}`]);
  return doc;
}
