/* Generated from docs/schemas/token-claims.v1.schema.json by scripts/generate-types.mjs: do not edit. */

/**
 * The JSON payload of a Locket grant token (PASETO v4.public, signed with the vault's Ed25519 key; footer {"kid": "k4.pid.…"}). Times are RFC 3339 UTC as PASETO specifies. The claims carry no profile data.
 */
export interface TokenClaimsV1 {
  /**
   * The owner's Locket as issuer towards this retailer (iss_ and 32 hex digits; the vault's own id in grants issued before pairwise issuers).
   */
  iss: string;
  /**
   * Pairwise subject id: HMAC-SHA256 of the retailer id under a per-vault key, base64url.
   */
  sub: string;
  /**
   * The retailer id the grant was issued to.
   */
  aud: string;
  /**
   * The grant id.
   */
  jti: string;
  iat: string;
  nbf: string;
  exp: string;
  /**
   * Granted scopes: field keys, field groups or derived scopes.
   *
   * @minItems 1
   */
  scope: string[];
  /**
   * The purpose each granted scope was granted for (keys are exactly the entries of scope).
   */
  purposes: {
    [k: string]:
      | "order_fulfilment"
      | "delivery"
      | "account_management"
      | "personalised_recommendations"
      | "marketing_email"
      | "marketing_sms"
      | "marketing_post"
      | "analytics"
      | "age_verification"
      | "fraud_prevention"
      | "customer_support"
      | "other";
  };
}
