/* Generated from docs/schemas/request-object.v1.schema.json by scripts/generate-types.mjs: do not edit. */

/**
 * The payload of a signed request object: a compact JWS (RFC 7515) whose protected header has typ "locket-request+jwt", alg EdDSA or Ed25519 (an Ed25519 key) or ES256 (a P-256 key), and the kid of a signing key in the retailer's metadata. The payload is a locket.grant-request/v1 document (every member of grant-request.v1.schema.json, validated by it) plus the four members below. Locket fetches it from request_uri (named in a locket://connect?request_uri=... link), at most 96 KiB, and accepts each (retailer id, nonce) once.
 */
export interface RequestObjectV1 {
  /**
   * The retailer's opaque value binding this request to its own session (16 to 256 characters of base64url alphabet); Locket gives it back with the first release.
   */
  state: string;
  /**
   * The https URL this object is served at, exactly as in the connect link; on the retailer's origin.
   */
  request_uri: string;
  /**
   * Issued at, seconds since the Unix epoch (at most 10 minutes in the future).
   */
  iat: number;
  /**
   * Expires, seconds since the Unix epoch: after iat, and at most 3600 seconds after it.
   */
  exp: number;
}
