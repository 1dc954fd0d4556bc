// Grant files (`locket.grant/v1`, crates/wire/src/grantfile.rs) and the offline check of their bearer token
// (crates/wire/src/token.rs `TokenVerifier`): what a shop can know about a grant without asking the owner's
// Locket. A revocation is invisible here: only a redemption (`GET /v1/data`) or a release tells it.

import { fromB64u, keyIdOf, peekV4Public, publicKeyBytes, verifyV4Public } from "./paserk.js";
import type { GrantFile, TokenClaims } from "./types.js";

/** Largest grant file accepted, in bytes (`MAX_GRANT_FILE_BYTES`). */
export const MAX_GRANT_FILE_BYTES = 256 * 1024;
/** Largest token accepted, in bytes (`MAX_TOKEN_BYTES`). */
export const MAX_TOKEN_BYTES = 8 * 1024;
/** The `format` of a grant file. */
export const GRANT_FORMAT = "locket.grant/v1";

/** A grant file was refused; `code` is Locket's (`grant_file_too_large`, `grant_file_invalid`). */
export class GrantFileError extends Error {
  /** The stable code. */
  readonly code: "grant_file_too_large" | "grant_file_invalid";
  /** Each problem as `member: what is wrong`. */
  readonly problems: string[];
  constructor(code: GrantFileError["code"], problems: string[]) {
    super(`the grant file is not usable: ${problems.join("; ")}`);
    this.name = "GrantFileError";
    this.code = code;
    this.problems = problems;
  }
}

/**
 * Why a grant token was refused. The first five are the codes Locket's endpoint answers a redemption with, for
 * the same reasons; `token_key_invalid` is Locket's code for a public key that is not PASERK `k4.public`;
 * `token_retailer_mismatch` is this package's (the token's `aud` is not the `retailerId` asked for).
 */
export type GrantTokenErrorCode =
  | "token_malformed"
  | "token_invalid_signature"
  | "token_unknown_key"
  | "token_not_yet_valid"
  | "token_expired"
  | "token_key_invalid"
  | "token_retailer_mismatch";

/** A grant token was refused; `code` is stable. */
export class GrantTokenError extends Error {
  /** The stable code. */
  readonly code: GrantTokenErrorCode;
  constructor(code: GrantTokenErrorCode, message: string) {
    super(message);
    this.name = "GrantTokenError";
    this.code = code;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The instant of an RFC 3339 time (as chrono's `parse_from_rfc3339` reads it), in milliseconds; `undefined` if it is not one. */
export function rfc3339Millis(s: unknown): number | undefined {
  const m = typeof s === "string" ? RFC3339.exec(s) : null;
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > days || h > 23 || mi > 59 || se > 60) return undefined;
  const zone = m[8]!.toUpperCase() === "Z" ? 0 : (m[8]![0] === "-" ? -1 : 1) * (Number(m[8]!.slice(1, 3)) * 60 + Number(m[8]!.slice(4, 6)));
  const frac = m[7] ? Number(`0${m[7]}`) : 0;
  // A leap second (:60) counts as the last instant of its minute.
  return Date.UTC(y, mo - 1, d, h, mi, Math.min(se, 59)) + Math.min(frac + (se === 60 ? 1 : 0), 0.999) * 1000 - zone * 60_000;
}

const PURPOSES = [
  "order_fulfilment", "delivery", "account_management", "personalised_recommendations", "marketing_email",
  "marketing_sms", "marketing_post", "analytics", "age_verification", "fraud_prevention", "customer_support", "other",
];

type Check = (v: unknown) => string | undefined;
const str: Check = (v) => (typeof v === "string" ? undefined : "a string is needed");
const pattern = (re: RegExp, what: string): Check => (v) => (typeof v === "string" && re.test(v) ? undefined : what);
const oneOf = (values: readonly unknown[]): Check => (v) => (values.includes(v) ? undefined : `one of ${values.map((x) => JSON.stringify(x)).join(", ")}`);
const time: Check = (v) => (rfc3339Millis(v) !== undefined ? undefined : "an RFC 3339 time is needed");

/** Checks an object's members against `spec` (required unless named in `optional`; no others), pushing problems. */
function members(v: unknown, at: string, spec: Record<string, Check>, optional: string[], problems: string[]): v is Record<string, unknown> {
  if (!isObject(v)) {
    problems.push(`${at}: an object is needed`);
    return false;
  }
  for (const k of Object.keys(v)) if (!(k in spec)) problems.push(`${at}.${k}: not a member of a grant file`);
  for (const [k, check] of Object.entries(spec)) {
    if (!(k in v)) {
      if (!optional.includes(k)) problems.push(`${at}.${k}: missing`);
      continue;
    }
    const p = check(v[k]);
    if (p) problems.push(`${at}.${k}: ${p}`);
  }
  return true;
}

/** The problems of a grant file with docs/schemas/grant.v1.schema.json (empty when it conforms). */
function schemaProblems(doc: unknown): string[] {
  const problems: string[] = [];
  const nested = (check: (v: unknown, at: string) => void, at: string): Check => (v) => {
    check(v, at);
    return undefined;
  };
  const retailer = (v: unknown, at: string) => members(v, at, { id: str, name: str, origin: str }, [], problems);
  const scope = (v: unknown, at: string) => {
    const field = (f: unknown, fat: string) => members(f, fat, { key: str, label: str }, [], problems);
    members(
      v,
      at,
      {
        scope: str,
        kind: oneOf(["field", "group", "derived"]),
        label: str,
        purpose: oneOf(PURPOSES),
        purpose_text: str,
        fields: (fs) => {
          if (!Array.isArray(fs)) return "an array is needed";
          fs.forEach((f, i) => field(f, `${at}.fields[${i}]`));
          return undefined;
        },
      },
      ["purpose_text"],
      problems,
    );
  };
  const receipt = (v: unknown, at: string) => {
    // The receipt's own members are the consent receipt schema's; its signature is checked below.
    if (!isObject(v)) return problems.push(`${at}: an object is needed`);
    for (const k of ["format", "receipt_id", "event", "grant", "proof"]) if (!(k in v)) problems.push(`${at}.${k}: missing`);
    if ("format" in v && v.format !== "locket.consent-receipt/v1") problems.push(`${at}.format: "locket.consent-receipt/v1" is needed`);
    if ("receipt_id" in v && pattern(/^cr_[0-9a-f]{32}$/, "")(v.receipt_id) !== undefined) problems.push(`${at}.receipt_id: cr_ and 32 hex digits`);
    if ("event" in v && v.event !== "grant") problems.push(`${at}.event: "grant" is needed`);
    return undefined;
  };
  members(
    doc,
    "grant",
    {
      format: oneOf([GRANT_FORMAT]),
      grant_id: pattern(/^gr_[0-9a-f]{32}$/, "gr_ and 32 hex digits"),
      issuer: (v) => (typeof v === "string" && v.length > 0 ? undefined : "a non-empty string is needed"),
      endpoint: pattern(/^https?:\/\//, "an http(s) URL is needed"),
      public_key: pattern(/^k4\.public\.[A-Za-z0-9_-]{43}$/, "a PASERK k4.public key is needed"),
      key_id: pattern(/^k4\.pid\.[A-Za-z0-9_-]{44}$/, "a PASERK k4.pid is needed"),
      retailer: nested(retailer, "grant.retailer"),
      subject: pattern(/^[A-Za-z0-9_-]{43}$/, "43 base64url characters"),
      scopes: (v) => {
        if (!Array.isArray(v) || v.length === 0) return "a non-empty array is needed";
        v.forEach((s, i) => scope(s, `grant.scopes[${i}]`));
        return undefined;
      },
      issued_at: time,
      not_before: time,
      expires_at: time,
      max_uses: (v) => (v === null || (typeof v === "number" && Number.isInteger(v) && v >= 1) ? undefined : "an integer of at least 1, or null"),
      summary: str,
      token: pattern(/^v4\.public\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, "a PASETO v4.public token with a footer is needed"),
      receipt: nested(receipt, "grant.receipt"),
    },
    ["receipt"],
    problems,
  );
  return problems;
}

/** Deep equality of JSON values (key order ignored). */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return a === b;
}

/**
 * What `GrantFile::parse` checks beyond the document's types: the token's claims name the file's grant,
 * retailer and issuer; `key_id` is the id of `public_key`; a receipt is for this grant and retailer and its
 * signature verifies with `public_key`. Throws an `Error` saying what does not hold.
 */
export function checkGrantFileConsistency(g: GrantFile): void {
  const peeked = peekV4Public(g.token);
  let claims: Record<string, unknown> | undefined;
  try {
    claims = peeked ? JSON.parse(peeked.message.toString("utf8")) : undefined;
  } catch {
    claims = undefined;
  }
  if (!isObject(claims)) throw new Error("token: not a PASETO v4.public token with Locket claims");
  if (claims.jti !== g.grant_id || claims.aud !== g.retailer.id || claims.iss !== g.issuer) {
    throw new Error("the token's grant id, audience or issuer differ from the file's");
  }
  const kid = keyIdOf(g.public_key);
  if (kid !== g.key_id) throw new Error("key_id is not the id of public_key");
  const receipt = (g as unknown as Record<string, unknown>).receipt;
  if (receipt === undefined || receipt === null) return;
  if (!isObject(receipt)) throw new Error("the receipt is not an object");
  const r = receipt as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (r.grant?.grant_id !== g.grant_id || r.controller?.id !== g.retailer.id) {
    throw new Error("the receipt is for a different grant or retailer than the file");
  }
  if (r.format !== "locket.consent-receipt/v1") throw new Error("receipt: format is not locket.consent-receipt/v1");
  const proof = r.proof;
  if (!isObject(proof)) throw new Error("receipt: the receipt is not signed (no proof)");
  if (proof.type !== "paseto.v4.public") throw new Error(`receipt: unknown proof type ${JSON.stringify(proof.type)}`);
  if (proof.key_id !== kid || r.issuer?.key_id !== kid || typeof proof.token !== "string") throw new Error("receipt: the signature does not verify");
  const signed = verifyV4Public(proof.token, g.public_key, JSON.stringify({ kid }), "locket.consent-receipt/v1");
  let value: unknown;
  try {
    value = signed ? JSON.parse(signed.toString("utf8")) : undefined;
  } catch {
    value = undefined;
  }
  const { proof: _proof, ...unsigned } = r;
  if (!jsonEqual(value, unsigned)) throw new Error("receipt: the signature does not verify");
}

/**
 * Reads a `locket.grant/v1` grant file — the JSON text or bytes the owner handed over, or the `grant` member of
 * a first release — with the checks Locket's `GrantFile::parse` makes: at most {@link MAX_GRANT_FILE_BYTES};
 * the members, types and patterns of docs/schemas/grant.v1.schema.json (no unknown members); the token's
 * claims agree with the file; `key_id` is the id of `public_key`; a consent receipt, if present, is for this
 * grant and signed with `public_key`. It does not verify the token's own signature or times: that is
 * {@link verifyGrantToken}.
 *
 * @throws GrantFileError `grant_file_too_large` or `grant_file_invalid` (with every schema problem listed).
 */
export function readGrantFile(json: string | Uint8Array | object): GrantFile {
  let doc: unknown;
  if (typeof json === "string" || json instanceof Uint8Array) {
    const size = typeof json === "string" ? Buffer.byteLength(json, "utf8") : json.length;
    if (size > MAX_GRANT_FILE_BYTES) {
      throw new GrantFileError("grant_file_too_large", [`the grant file is ${size} bytes; a grant file is at most ${MAX_GRANT_FILE_BYTES} bytes`]);
    }
    try {
      const text = typeof json === "string" ? json : new TextDecoder("utf-8", { fatal: true }).decode(json);
      doc = JSON.parse(text);
    } catch {
      throw new GrantFileError("grant_file_invalid", ["not JSON"]);
    }
  } else {
    const size = Buffer.byteLength(JSON.stringify(json) ?? "", "utf8");
    if (size > MAX_GRANT_FILE_BYTES) {
      throw new GrantFileError("grant_file_too_large", [`the grant file is ${size} bytes; a grant file is at most ${MAX_GRANT_FILE_BYTES} bytes`]);
    }
    doc = json;
  }
  const problems = schemaProblems(doc);
  if (problems.length) throw new GrantFileError("grant_file_invalid", problems);
  const file = doc as GrantFile;
  try {
    checkGrantFileConsistency(file);
  } catch (e) {
    throw new GrantFileError("grant_file_invalid", [(e as Error).message]);
  }
  return file;
}

/** What {@link verifyGrantToken} needs besides the token. */
export interface VerifyGrantTokenOptions {
  /** The key that signed it: the grant file's `public_key` (PASERK `k4.public.…`). */
  publicKey: string;
  /** Your retailer id (your origin's host); when given, the token's `aud` must be it. */
  retailerId?: string;
  /** The grant file's `issuer`; when given, the token's `iss` must be it (as Locket checks, `token_unknown_key`). */
  issuer?: string;
  /** The clock in Unix seconds (default now). */
  now?: number;
}

/** A verified grant token. */
export interface VerifiedGrantToken {
  /** The claims as signed. */
  claims: TokenClaims;
  /** The footer's key id (`k4.pid.…`), the id of `publicKey`. */
  keyId: string;
  /** `iat`. */
  issuedAt: Date;
  /** `nbf`. */
  notBefore: Date;
  /** `exp`: the token is refused from this instant on. */
  expiresAt: Date;
}

const CLAIMS: Record<string, (v: unknown) => boolean> = {
  iss: (v) => typeof v === "string",
  sub: (v) => typeof v === "string",
  aud: (v) => typeof v === "string",
  jti: (v) => typeof v === "string",
  iat: (v) => typeof v === "string",
  nbf: (v) => typeof v === "string",
  exp: (v) => typeof v === "string",
  scope: (v) => Array.isArray(v) && v.every((s) => typeof s === "string"),
  purposes: (v) => isObject(v) && Object.values(v).every((p) => PURPOSES.includes(p as string)),
};

/**
 * Verifies a grant token offline, in the order of Locket's redemption: size (at most {@link MAX_TOKEN_BYTES})
 * and form (`v4.public` with a `{"kid"}` footer) — `token_malformed`; the footer's `kid` is the id of
 * `publicKey` — `token_unknown_key`; the Ed25519 signature — `token_invalid_signature`; the claims are Locket's
 * (no unknown members, times in RFC 3339) — `token_malformed`; `iss` is `issuer` if given — `token_unknown_key`;
 * `aud` is `retailerId` if given — `token_retailer_mismatch`; `now` before `nbf` — `token_not_yet_valid`; `now`
 * at or after `exp` — `token_expired`. `iat` must be a time but is not compared with the clock (Locket does not).
 *
 * This proves the owner's Locket issued the token for these scopes and that it has not run out. It cannot see a
 * revocation or a use limit: only a redemption (`GET /v1/data`, {@link LocalLocket}) or a release says those.
 *
 * @throws GrantTokenError with the code above (`token_key_invalid` if `publicKey` is not PASERK `k4.public`).
 */
export function verifyGrantToken(token: string, options: VerifyGrantTokenOptions): VerifiedGrantToken {
  let keyId: string;
  try {
    publicKeyBytes(options.publicKey);
    keyId = keyIdOf(options.publicKey);
  } catch {
    throw new GrantTokenError("token_key_invalid", "the public key is not a PASERK k4.public key; use the grant file's public_key");
  }
  const malformed = (m: string) => new GrantTokenError("token_malformed", `the token is malformed: ${m}`);
  if (typeof token !== "string") throw malformed("not a PASETO v4.public token");
  const size = Buffer.byteLength(token, "utf8");
  if (size > MAX_TOKEN_BYTES) throw malformed(`the token is ${size} bytes; at most ${MAX_TOKEN_BYTES} are accepted`);
  if (!token.startsWith("v4.public.")) throw malformed("not a PASETO v4.public token");
  const parts = token.split(".");
  const peeked = peekV4Public(token);
  if (!peeked || parts.length !== 4 || !fromB64u(parts[3]!)) throw malformed("the token's encoding is invalid");
  let footer: unknown;
  let footerText: string;
  try {
    footerText = new TextDecoder("utf-8", { fatal: true }).decode(peeked.footer);
    footer = JSON.parse(footerText);
  } catch {
    throw malformed('the token\'s footer is not a {"kid"} object');
  }
  if (!isObject(footer) || Object.keys(footer).length !== 1 || typeof footer.kid !== "string") {
    throw malformed('the token\'s footer is not a {"kid"} object');
  }
  if (footer.kid !== keyId) {
    throw new GrantTokenError("token_unknown_key", `the token was signed with key ${JSON.stringify(footer.kid)}, not with ${JSON.stringify(keyId)} (the key given)`);
  }
  const message = verifyV4Public(token, options.publicKey, footerText, "");
  if (!message) throw new GrantTokenError("token_invalid_signature", "the token's signature does not verify; it was altered or not signed with this key");
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(message));
  } catch {
    throw malformed("the token's claims are not JSON");
  }
  if (!isObject(claims)) throw malformed("the token's claims are not Locket claims");
  for (const k of Object.keys(claims)) if (!(k in CLAIMS)) throw malformed(`the token's claims are not Locket claims: unknown member ${k}`);
  for (const [k, ok] of Object.entries(CLAIMS)) {
    if (!(k in claims) || !ok(claims[k])) throw malformed(`the token's claims are not Locket claims: ${k} is missing or of the wrong type`);
  }
  const c = claims as unknown as TokenClaims;
  if (options.issuer !== undefined && c.iss !== options.issuer) {
    throw new GrantTokenError("token_unknown_key", `the token was issued by ${JSON.stringify(c.iss)}, not by ${JSON.stringify(options.issuer)}`);
  }
  const at = (name: "iat" | "nbf" | "exp") => {
    const ms = rfc3339Millis(c[name]);
    if (ms === undefined) throw malformed(`the ${name} claim is not an RFC 3339 time`);
    return ms;
  };
  const [iat, nbf, exp] = [at("iat"), at("nbf"), at("exp")];
  if (options.retailerId !== undefined && c.aud !== options.retailerId) {
    throw new GrantTokenError("token_retailer_mismatch", `the token was issued to retailer ${JSON.stringify(c.aud)}, not to ${JSON.stringify(options.retailerId)}`);
  }
  const now = (options.now ?? Date.now() / 1000) * 1000;
  if (now < nbf) throw new GrantTokenError("token_not_yet_valid", `the token is not valid before ${c.nbf}`);
  if (now >= exp) throw new GrantTokenError("token_expired", `the grant expired at ${c.exp}; ask the owner for a new grant`);
  return { claims: c, keyId, issuedAt: new Date(iat), notBefore: new Date(nbf), expiresAt: new Date(exp) };
}
