// Signed request objects (crates/wire/src/request_object.rs): a grant request signed by the shop, served once at
// its request_uri, which a `locket://connect` link points Locket to.

import { importJWK, SignJWT } from "jose";
import { randomBytes } from "node:crypto";
import { LocketInputError, originOf } from "./metadata.js";
import type { GrantRequest, PrivateJwk } from "./types.js";

/** The `typ` header of a request object. */
export const REQUEST_OBJECT_TYP = "locket-request+jwt";
/** Longest lifetime (`exp - iat`) Locket accepts, in seconds. */
export const MAX_LIFETIME_SECONDS = 3600;
/** Largest request object Locket accepts, in bytes. */
export const MAX_REQUEST_OBJECT_BYTES = 96 * 1024;

/** What {@link signRequestObject} signs. */
export interface RequestObjectInput {
  /** The `locket.grant-request/v1` document; its `retailer` block must match the shop's metadata. */
  request: GrantRequest | Record<string, unknown>;
  /** Your value tying the request to the customer's session (16–256 base64url characters); random if left out. */
  state?: string;
  /** The exact https URL the object will be served at (on the shop's origin, unguessable, served once). */
  requestUri: string;
  /** Lifetime in seconds, 1 to 3600 (default 600). */
  ttlSeconds?: number;
  /** `EdDSA` (default, what every JOSE library knows) or the RFC 9864 name `Ed25519`; Locket accepts both. */
  alg?: "EdDSA" | "Ed25519";
  /** The signing time in Unix seconds (default now). */
  now?: number;
}

/** A signed request object and what the shop must remember about it. */
export interface SignedRequestObject {
  /** The compact JWS to serve at `requestUri` (`Content-Type: application/jwt`, `Cache-Control: no-store`). */
  jws: string;
  /** Its `state`: record it; the first release of the grant brings it back. */
  state: string;
  /** Where it is served. */
  requestUri: string;
  /** `iat`, Unix seconds. */
  issuedAt: number;
  /** `exp`, Unix seconds. */
  expiresAt: number;
}

/** A random 128-bit `state` in base64url (22 characters). */
export function randomState(): string {
  return randomBytes(16).toString("base64url");
}

/**
 * Signs a request object: a compact JWS with header `{alg, typ: "locket-request+jwt", kid}` over the grant request
 * plus `state`, `request_uri`, `iat` and `exp`, as Locket's `verify_request_object` expects.
 *
 * @param signingKey the shop's private Ed25519 signing JWK (its `kid` must be in the published metadata).
 * @throws LocketInputError (`request_object_malformed`, `request_object_lifetime`) for input Locket would refuse.
 */
export async function signRequestObject(input: RequestObjectInput, signingKey: PrivateJwk): Promise<SignedRequestObject> {
  const problems: string[] = [];
  const state = input.state ?? randomState();
  if (!/^[A-Za-z0-9_-]{16,256}$/.test(state)) problems.push("state: 16 to 256 characters of the base64url alphabet");
  try {
    originOf(input.requestUri);
  } catch (e) {
    problems.push(`requestUri: ${(e as Error).message}`);
  }
  const request = input.request as Record<string, unknown>;
  if (typeof request !== "object" || request === null || Array.isArray(request)) problems.push("request: a JSON object is needed");
  else {
    for (const m of ["state", "request_uri", "iat", "exp"]) if (m in request) problems.push(`request: may not carry ${m}`);
  }
  if (signingKey.crv !== "Ed25519" || typeof signingKey.d !== "string") problems.push("signingKey: a private Ed25519 JWK is needed");
  if (!signingKey.kid) problems.push("signingKey: the key has no kid");
  if (problems.length) throw new LocketInputError("request_object_malformed", problems);
  const ttl = input.ttlSeconds ?? 600;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_LIFETIME_SECONDS) {
    throw new LocketInputError("request_object_lifetime", [`ttlSeconds: an integer from 1 to ${MAX_LIFETIME_SECONDS}`]);
  }
  const issuedAt = input.now ?? Math.floor(Date.now() / 1000);
  const expiresAt = issuedAt + ttl;
  const alg = input.alg ?? "EdDSA";
  const { alg: _alg, use: _use, ...material } = signingKey;
  const key = await importJWK(material, alg);
  const jws = await new SignJWT({ ...request, state, request_uri: input.requestUri })
    .setProtectedHeader({ alg, typ: REQUEST_OBJECT_TYP, kid: signingKey.kid })
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .sign(key);
  if (jws.length > MAX_REQUEST_OBJECT_BYTES) {
    throw new LocketInputError("request_object_too_large", [`the object is ${jws.length} bytes; at most ${MAX_REQUEST_OBJECT_BYTES}`]);
  }
  return { jws, state, requestUri: input.requestUri, issuedAt, expiresAt };
}

/** The link the "Share with Locket" button points to: `locket://connect?request_uri=<percent-encoded URL>`. */
export function connectLink(requestUri: string): string {
  return `locket://connect?request_uri=${encodeURIComponent(requestUri)}`;
}
