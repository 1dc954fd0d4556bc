/* Generated from docs/schemas/retailer-metadata.v1.schema.json by scripts/generate-types.mjs: do not edit. */

/**
 * Who a retailer is, published by the retailer at https://ORIGIN/.well-known/locket-retailer.json (at most 64 KiB, served as application/json over https). Locket fetches it to verify a signed request object from the same origin: the request object's kid must name a signing key here, and everything Locket later sends (releases) goes to delivery_url, sealed to an encryption key here. Locket pins the first metadata it verifies for an origin and flags a later request whose name or keys differ.
 */
export interface RetailerMetadataV1 {
  /**
   * Always locket.retailer/v1.
   */
  format: "locket.retailer/v1";
  /**
   * The retailer's id: its web origin, exactly as Locket fetched this document from — https, lowercase host, a port only when it is not 443, no path ("https://shop.example"). The retailer id in its requests (the token audience) is the origin's host.
   */
  id: string;
  /**
   * Display name shown to the owner; requests from this origin must carry the same name.
   */
  name: string;
  /**
   * How the owner reaches the retailer about their data: an email address or an https URL.
   */
  contact: string;
  /**
   * URL of the privacy policy, on the same origin.
   */
  privacy_policy: string;
  /**
   * Where Locket POSTs sealed releases (updates, revocations) for grants of this retailer: https, on the same origin.
   */
  delivery_url: string;
  /**
   * The retailer's public keys (RFC 7517): at least one signing key (use sig: Ed25519 as OKP, or P-256 as EC) and at least one encryption key (use enc: X25519 as OKP, or P-256 as EC, for ECDH-ES). Each key has a kid unique in the set. Private key members (d, p, q, dp, dq, qi, oth, k) are refused: publishing one would hand the key to everyone.
   */
  jwks: {
    /**
     * @minItems 2
     * @maxItems 16
     */
    keys: Jwk[];
  };
}
/**
 * A public JWK. Members other than those listed (x5c, key_ops, ...) are allowed and ignored.
 */
export interface Jwk {
  kty: "OKP" | "EC";
  crv: "Ed25519" | "X25519" | "P-256";
  x: string;
  y?: string;
  /**
   * Any text in a request: no control characters (U+0000–U+001F, U+007F–U+009F, so no tab or newline either), no line or paragraph separators (U+2028, U+2029) and no text-direction marks, embeddings, overrides or isolates (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which could make what the owner reads differ from what the request says. Locket refuses such a request with request_control_characters before any other check. Every other character, in any script, emoji included, is allowed.
   */
  kid: string;
  use: "sig" | "enc";
  alg?: "EdDSA" | "Ed25519" | "ES256" | "ECDH-ES";
  d?: never;
  p?: never;
  q?: never;
  dp?: never;
  dq?: never;
  qi?: never;
  oth?: never;
  k?: never;
}
