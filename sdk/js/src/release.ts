// Releases (crates/wire/src/release.rs): what a customer's Locket POSTs to the shop's delivery URL. A compact JWE
// (ECDH-ES + A256GCM to the shop's encryption key) holding a compact JWS (Ed25519, the grant's key) over a
// `locket.release/v1` document, with Standard Webhooks headers signed by the same key.

import { compactDecrypt, importJWK } from "jose";
import { verify } from "node:crypto";
import { checkGrantFileConsistency, rfc3339Millis } from "./grant.js";
import { fromB64u, keyIdOf, keyObjectOfPaserk, publicKeyBytes } from "./paserk.js";
import type { PrivateJwk, Release } from "./types.js";

/** The `format` of a release. */
export const RELEASE_FORMAT = "locket.release/v1";
/** The JWS `typ` and the JWE `cty`. */
export const RELEASE_TYP = "locket-release+jws";
/** The media type of a delivery's body. */
export const RELEASE_CONTENT_TYPE = "application/jose";
/** Largest release body accepted, in bytes. */
export const MAX_RELEASE_BYTES = 1024 * 1024;
/** How far `webhook-timestamp` may be from the receiver's clock, in seconds. */
export const TIMESTAMP_TOLERANCE_SECS = 300;

/** Locket's codes for a release that cannot be opened (errors.md); each has the meaning of `ReleaseError` in Rust. */
export type ReleaseErrorCode =
  | "release_malformed"
  | "release_too_large"
  | "release_decrypt_failed"
  | "release_unknown_key"
  | "release_invalid_signature"
  | "release_timestamp_stale"
  | "release_headers_invalid";

/** A release was refused; `code` is Locket's stable code. */
export class ReleaseError extends Error {
  /** The stable code. */
  readonly code: ReleaseErrorCode;
  constructor(code: ReleaseErrorCode, message: string) {
    super(message);
    this.name = "ReleaseError";
    this.code = code;
  }
}

/** Request headers as Node's `IncomingHttpHeaders`, a fetch `Headers`, or a plain object (any case). */
export type HeaderBag = Headers | Record<string, string | string[] | undefined>;

/** The Standard Webhooks headers of one delivery attempt, parsed. */
export interface WebhookHeaders {
  /** `webhook-id`: the release id. */
  id: string;
  /** `webhook-timestamp`: Unix seconds, as written (an integer). */
  timestamp: bigint;
  /** `webhook-signature`: space-separated `version,signature` pairs. */
  signature: string;
}

function header(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(bag).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : bag[key];
  return Array.isArray(v) ? v.join(", ") : v;
}

/**
 * Reads the three Standard Webhooks headers (as the reference server does): each present, printable ASCII,
 * `webhook-id` without spaces, `webhook-timestamp` an integer.
 *
 * @throws ReleaseError `release_headers_invalid`.
 */
export function webhookHeaders(headers: HeaderBag): WebhookHeaders {
  const bad = (m: string) => new ReleaseError("release_headers_invalid", `the webhook headers are wrong: ${m}`);
  const visible = (s: string) => s.length > 0 && s.length <= 4096 && /^[\x20-\x7e]*$/.test(s);
  const id = header(headers, "webhook-id");
  if (id === undefined) throw bad("webhook-id is missing");
  if (!visible(id) || id.includes(" ")) throw bad("webhook-id is not a release id");
  const ts = header(headers, "webhook-timestamp");
  if (ts === undefined) throw bad("webhook-timestamp is missing");
  const t = ts.trim();
  if (!/^[+-]?[0-9]+$/.test(t)) throw bad("webhook-timestamp is not Unix seconds");
  const timestamp = BigInt(t);
  if (timestamp > 2n ** 63n - 1n || timestamp < -(2n ** 63n)) throw bad("webhook-timestamp is not Unix seconds");
  const signature = header(headers, "webhook-signature");
  if (signature === undefined) throw bad("webhook-signature is missing");
  if (!visible(signature)) throw bad("webhook-signature is not a list of signatures");
  return { id, timestamp, signature };
}

/** What {@link openRelease} needs. */
export interface OpenReleaseInput {
  /** The POST body (the compact JWE), as text or bytes. */
  body: string | Uint8Array;
  /** The request's headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`), or already parsed. */
  headers: HeaderBag | WebhookHeaders;
  /** The shop's private encryption JWK (the private half of the published `enc` key). */
  encryptionKey: PrivateJwk | Record<string, unknown>;
  /**
   * The grant's key (PASERK `k4.public.…`) kept from its first release. Leave it out for a grant's first
   * release: the key is then the grant file's, and the caller must check the release's `state` is its own.
   */
  grantKey?: string;
  /** The receiver's clock in Unix seconds (default now). */
  now?: number;
}

/** An opened and verified release. */
export interface OpenedRelease {
  /** The document. */
  release: Release;
  /** The key that verified it (PASERK `k4.public.…`): keep it for the grant's later releases. */
  publicKey: string;
  /** Its PASERK id (`k4.pid.…`), the JWS `kid`. */
  keyId: string;
}

const malformed = (m: string) => new ReleaseError("release_malformed", `the release is malformed: ${m}`);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const HEX32 = /^[0-9a-f]{32}$/;
const isRfc3339 = (s: unknown) => rfc3339Millis(s) !== undefined;

/** Members of an object: required ones with their checks, optional ones (null counts as absent), no others. */
function shape(v: unknown, what: string, required: Record<string, (x: unknown) => boolean>, optional: Record<string, (x: unknown) => boolean> = {}): void {
  if (!isObject(v)) throw malformed(`the document is not a release: ${what} is not an object`);
  for (const k of Object.keys(v)) {
    if (!(k in required) && !(k in optional)) throw malformed(`the document is not a release: unknown member ${what}.${k}`);
  }
  for (const [k, ok] of Object.entries(required)) {
    if (!(k in v) || !ok(v[k])) throw malformed(`the document is not a release: ${what}.${k} is missing or of the wrong type`);
  }
  for (const [k, ok] of Object.entries(optional)) {
    if (k in v && v[k] !== null && !ok(v[k])) throw malformed(`the document is not a release: ${what}.${k} is of the wrong type`);
  }
}

const str = (x: unknown) => typeof x === "string";
const uint = (max: number) => (x: unknown) => typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= max;
const bool = (x: unknown) => typeof x === "boolean";
const EVENTS = ["grant", "update", "revoke", "expire"];

/** The document's types, as Locket's `Release` reads them (unknown members refused). */
function readRelease(doc: unknown): Release {
  shape(
    doc,
    "release",
    {
      format: str,
      event: (x) => EVENTS.includes(x as string),
      release_id: str,
      grant_id: str,
      sequence: uint(Number.MAX_SAFE_INTEGER),
      subject: str,
      retailer_id: str,
      state: str,
      issued_at: str,
    },
    {
      grant: isObject,
      fields: Array.isArray,
      empty_scopes: Array.isArray,
      ended: isObject,
    },
  );
  const r = doc as Record<string, unknown>;
  if (r.empty_scopes === null) throw malformed("the document is not a release: empty_scopes is null");
  for (const [i, f] of ((r.fields as unknown[] | null) ?? []).entries()) {
    shape(f, `fields[${i}]`, { key: str, label: str, version: uint(0xffffffff), value: () => true, scope: str });
  }
  for (const s of (r.empty_scopes as unknown[] | undefined) ?? []) if (!str(s)) throw malformed("the document is not a release: empty_scopes holds a non-string");
  if (isObject(r.ended)) {
    shape(r.ended, "ended", { at: str, by: (x) => x === "owner" || x === "expiry", erasure_requested: bool, retention: isObject }, { reason: str });
    shape(r.ended.retention, "ended.retention", { max_duration: str, statement: str });
  }
  if (isObject(r.grant)) {
    const g = r.grant;
    for (const k of ["format", "grant_id", "issuer", "public_key", "key_id", "subject", "token"]) {
      if (!str(g[k])) throw malformed(`the document is not a release: grant.${k} is missing or not a string`);
    }
    if (!isObject(g.retailer) || !str(g.retailer.id)) throw malformed("the document is not a release: grant.retailer.id is missing");
  }
  // Absent and null Options are the same to Locket; the document is returned without the nulls.
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (v !== null) out[k] = v;
  return out as unknown as Release;
}

/** What Locket's `Release::check` checks beyond the types: ids, times and the members each event carries. */
export function checkRelease(r: Release): void {
  if (r.format !== RELEASE_FORMAT) throw malformed(`format is ${JSON.stringify(r.format)}, expected ${JSON.stringify(RELEASE_FORMAT)}`);
  if (!r.release_id.startsWith("rel_") || !HEX32.test(r.release_id.slice(4))) throw malformed(`release_id ${JSON.stringify(r.release_id)} is not rel_ and 32 hex digits`);
  if (!r.grant_id.startsWith("gr_") || !HEX32.test(r.grant_id.slice(3))) throw malformed(`grant_id ${JSON.stringify(r.grant_id)} is not gr_ and 32 hex digits`);
  if (r.sequence === 0) throw malformed("sequence starts at 1");
  if (!isRfc3339(r.issued_at)) throw malformed("issued_at is not an RFC 3339 time");
  const data = r.event === "grant" || r.event === "update";
  if (data !== (r.fields !== undefined)) throw malformed(`a ${r.event} release ${data ? "must carry" : "carries no"} fields`);
  if (data === (r.ended !== undefined)) throw malformed(`a ${r.event} release ${data ? "carries no" : "must carry"} \`ended\``);
  if ((r.event === "grant") !== (r.grant !== undefined)) throw malformed("the grant file travels in the grant release, and only there");
  if (r.ended) {
    if (!isRfc3339(r.ended.at)) throw malformed("ended.at is not an RFC 3339 time");
    if ((r.event === "revoke") !== (r.ended.by === "owner")) throw malformed("a revoke is ended by the owner, an expire by expiry");
  }
  if (r.grant && (r.grant.grant_id !== r.grant_id || r.grant.subject !== r.subject || r.grant.retailer.id !== r.retailer_id)) {
    throw malformed("the grant file names another grant, subject or retailer");
  }
}

/** What `GrantFile::parse` checks of the grant file a first release carries; throws `release_malformed`. */
function checkGrantFile(g: NonNullable<Release["grant"]>): void {
  if (g.format !== "locket.grant/v1") throw malformed(`the grant file: format is ${JSON.stringify(g.format)}, expected "locket.grant/v1"`);
  try {
    checkGrantFileConsistency(g);
  } catch (e) {
    throw malformed(`the grant file: ${(e as Error).message}`);
  }
}

function b64uPart(part: string, what: string): Buffer {
  const bytes = fromB64u(part);
  if (!bytes) throw malformed(`the ${what} is not base64url`);
  return bytes;
}

/** Reads the JWS payload inside a release without verifying anything: `{grant_id, event}` or `undefined`. */
export async function peekRelease(body: string, encryptionKey: OpenReleaseInput["encryptionKey"]): Promise<{ grant_id: string; event: string } | undefined> {
  try {
    const { alg: _a, use: _u, ...material } = encryptionKey as Record<string, unknown>;
    const { plaintext } = await compactDecrypt(body, await importJWK(material as never, "ECDH-ES"), { keyManagementAlgorithms: ["ECDH-ES"] });
    const payload = new TextDecoder().decode(plaintext).split(".")[1];
    const doc = JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8"));
    return isObject(doc) && typeof doc.grant_id === "string" && typeof doc.event === "string" ? { grant_id: doc.grant_id, event: doc.event } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Opens and verifies a release, with the checks of Locket's `release::open` in the same order: size; the webhook
 * headers; `webhook-timestamp` within {@link TIMESTAMP_TOLERANCE_SECS} of `now`; a `v1a` signature present;
 * decryption (ECDH-ES, A256GCM) with the shop's key; the JWS header (`alg` Ed25519/EdDSA, `typ`); the document's
 * types; the expected key (`grantKey`, or the grant file's for a first release) and the JWS `kid`; the JWS
 * signature; the webhook signature over `{id}.{timestamp}.{body}`; the document's rules; `webhook-id` = the
 * release id; for a `grant` release, that the grant file holds together (key id, token claims, signed receipt).
 *
 * It keeps no state: which release ids were seen, the sequence, `state` and ended grants are the caller's
 * ({@link ReleaseReceiver} does all of that).
 *
 * @throws ReleaseError with Locket's code.
 */
export async function openRelease(input: OpenReleaseInput): Promise<OpenedRelease> {
  const body = typeof input.body === "string" ? input.body : decodeBody(input.body);
  const size = Buffer.byteLength(body, "utf8");
  if (size > MAX_RELEASE_BYTES) throw new ReleaseError("release_too_large", `the release is ${size} bytes; at most ${MAX_RELEASE_BYTES} are accepted`);
  const h = isParsed(input.headers) ? input.headers : webhookHeaders(input.headers);
  const now = BigInt(Math.floor(input.now ?? Date.now() / 1000));
  const skew = h.timestamp - now;
  if (skew > BigInt(TIMESTAMP_TOLERANCE_SECS) || -skew > BigInt(TIMESTAMP_TOLERANCE_SECS)) {
    throw new ReleaseError("release_timestamp_stale", `webhook-timestamp ${h.timestamp} is more than ${TIMESTAMP_TOLERANCE_SECS} s from now (${now})`);
  }
  const v1a = h.signature.split(" ").find((s) => s.startsWith("v1a,"));
  if (v1a === undefined) throw new ReleaseError("release_headers_invalid", "the webhook headers are wrong: webhook-signature carries no v1a signature");
  const sigText = v1a.slice(4);
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(sigText) || Buffer.from(sigText, "base64").toString("base64") !== sigText) {
    throw new ReleaseError("release_headers_invalid", "the webhook headers are wrong: webhook-signature is not base64");
  }
  const webhookSig = Buffer.from(sigText, "base64");

  if (body.split(".").length !== 5) throw malformed("the body is not a compact JWE");
  let plaintext: Uint8Array;
  let enc: string | undefined;
  try {
    const { alg: _a, use: _u, ...material } = input.encryptionKey as Record<string, unknown>;
    const key = await importJWK(material as never, "ECDH-ES");
    const out = await compactDecrypt(body, key, { keyManagementAlgorithms: ["ECDH-ES"] });
    plaintext = out.plaintext;
    enc = out.protectedHeader.enc;
  } catch (e) {
    throw new ReleaseError("release_decrypt_failed", `the release does not decrypt with this key: ${(e as Error).message}`);
  }
  if (enc !== "A256GCM") throw malformed("the JWE's enc is not A256GCM");
  let jws: string;
  try {
    jws = new TextDecoder("utf-8", { fatal: true }).decode(plaintext);
  } catch {
    throw malformed("the JWS is not text");
  }
  const parts = jws.split(".");
  if (parts.length !== 3) throw malformed("the content is not a compact JWS");
  const [hp, pp, sp] = parts as [string, string, string];
  let jwsHeader: Record<string, unknown>;
  try {
    jwsHeader = JSON.parse(b64uPart(hp, "JWS header").toString("utf8"));
  } catch (e) {
    if (e instanceof ReleaseError) throw e;
    throw malformed("the JWS header is not {alg, kid, typ}");
  }
  if (!isObject(jwsHeader) || !str(jwsHeader.alg) || !str(jwsHeader.kid) || !(jwsHeader.typ === undefined || jwsHeader.typ === null || str(jwsHeader.typ))) {
    throw malformed("the JWS header is not {alg, kid, typ}");
  }
  if (jwsHeader.alg !== "Ed25519" && jwsHeader.alg !== "EdDSA") throw malformed(`the JWS alg is ${JSON.stringify(jwsHeader.alg)}, not Ed25519`);
  if (jwsHeader.typ !== RELEASE_TYP) throw malformed(`the JWS typ is not ${JSON.stringify(RELEASE_TYP)}`);
  const payload = b64uPart(pp, "JWS payload");
  const signature = b64uPart(sp, "JWS signature");
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch {
    throw malformed("the document is not a release: not JSON");
  }
  const release = readRelease(doc);
  let publicKey: string;
  if (input.grantKey !== undefined) publicKey = input.grantKey;
  else if (release.grant) publicKey = release.grant.public_key;
  else throw malformed("the first release of a grant must carry its grant file");
  let keyId: string;
  let keyObject;
  try {
    keyId = keyIdOf(publicKey);
    publicKeyBytes(publicKey);
    keyObject = keyObjectOfPaserk(publicKey);
  } catch (e) {
    throw malformed((e as Error).message);
  }
  if (jwsHeader.kid !== keyId) {
    throw new ReleaseError("release_unknown_key", `the release is signed with key ${JSON.stringify(jwsHeader.kid)}; this grant's key is ${JSON.stringify(keyId)}`);
  }
  if (!verify(null, Buffer.from(`${hp}.${pp}`), keyObject, signature)) {
    throw new ReleaseError("release_invalid_signature", "the release's JWS signature does not verify");
  }
  if (!verify(null, Buffer.from(`${h.id}.${h.timestamp}.${body}`), keyObject, webhookSig)) {
    throw new ReleaseError("release_invalid_signature", "the release's webhook signature does not verify");
  }
  checkRelease(release);
  if (h.id !== release.release_id) {
    throw new ReleaseError("release_headers_invalid", `the webhook headers are wrong: webhook-id ${JSON.stringify(h.id)} is not the release id ${JSON.stringify(release.release_id)}`);
  }
  if (release.grant) {
    if (release.grant.public_key !== publicKey) {
      let got = "";
      try {
        got = keyIdOf(release.grant.public_key);
      } catch {
        /* an unreadable key: its id is empty, as in Locket */
      }
      throw new ReleaseError("release_unknown_key", `the release is signed with key ${JSON.stringify(got)}; this grant's key is ${JSON.stringify(keyId)}`);
    }
    try {
      checkGrantFile(release.grant);
    } catch (e) {
      if (e instanceof ReleaseError) throw e;
      throw malformed(`the grant file: ${(e as Error).message}`);
    }
  }
  return { release, publicKey, keyId };
}

function isParsed(h: OpenReleaseInput["headers"]): h is WebhookHeaders {
  return typeof (h as WebhookHeaders).timestamp === "bigint";
}

/** A body given as bytes must be UTF-8 (a compact JWE is ASCII). */
export function decodeBody(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw malformed("the body is not a compact JWE");
  }
}
