/* Generated from docs/schemas/grant.v1.schema.json by scripts/generate-types.mjs: do not edit. */

export type Purpose =
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
export type Time = string;

/**
 * What the owner hands to a retailer after approving its request: the bearer token, where to redeem it, the key that verifies it and a plain description of what it allows. It contains no profile data. Keep it secret: whoever holds the token can redeem it.
 */
export interface GrantV1 {
  format: "locket.grant/v1";
  /**
   * The grant's id; the token's jti.
   */
  grant_id: string;
  /**
   * The owner's Locket as issuer towards this retailer (iss_ and 32 hex digits; another retailer sees another id, and grants issued before pairwise issuers carry the vault's own id); the token's iss.
   */
  issuer: string;
  /**
   * Base URL of the owner's Locket endpoint; data is at GET {endpoint}/v1/data.
   */
  endpoint: string;
  /**
   * Ed25519 public key verifying the token, as PASERK k4.public.
   */
  public_key: string;
  /**
   * PASERK k4.pid of public_key; the token footer's kid.
   */
  key_id: string;
  retailer: {
    /**
     * Retailer id; the token's aud.
     */
    id: string;
    name: string;
    origin: string;
  };
  /**
   * The owner's pairwise subject id at this retailer (the token's sub): stable for this retailer, unrelated to the id any other retailer sees.
   */
  subject: string;
  /**
   * What is granted. A group's fields are listed as they were at the time of the grant.
   *
   * @minItems 1
   */
  scopes: {
    scope: string;
    kind: "field" | "group" | "derived";
    label: string;
    purpose: Purpose;
    purpose_text?: string;
    fields: {
      key: string;
      label: string;
    }[];
  }[];
  issued_at: Time;
  not_before: Time;
  expires_at: Time;
  /**
   * Most redemptions allowed; null for no limit.
   */
  max_uses: number | null;
  /**
   * The grant in plain words.
   */
  summary: string;
  /**
   * The bearer token: PASETO v4.public with footer {"kid": key_id}. Send it as 'Authorization: Bearer <token>'.
   */
  token: string;
  /**
   * The retailer's copy of the consent receipt for this grant, a locket.consent-receipt/v1 document (schema: consent-receipt.v1.schema.json) signed with public_key. Verify it with `locket-retailer receipt verify`. Absent in grant files issued before receipts existed.
   */
  receipt?: {
    format: "locket.consent-receipt/v1";
    receipt_id: string;
    event: "grant";
  };
}
