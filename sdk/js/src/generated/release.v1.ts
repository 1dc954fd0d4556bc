/* Generated from docs/schemas/release.v1.schema.json by scripts/generate-types.mjs: do not edit. */

/**
 * What the owner's Locket delivers to a retailer's server (POST to the delivery URL of its metadata, Content-Type application/jose). The body is a compact JWE (RFC 7516; protected header alg ECDH-ES, enc A256GCM, kid of the retailer's encryption key, cty "locket-release+jws") whose plaintext is a compact JWS (RFC 7515; protected header alg "Ed25519" — RFC 9864's name, which older libraries call EdDSA — typ "locket-release+jws", kid the grant's key_id) over this document. Verify the JWS with the grant's public_key: PASERK k4.public.X is the JWK {"kty":"OKP","crv":"Ed25519","x":"X"}. The first release of a grant (event grant, sequence 1) carries the grant file: accept it only if its state is one you put in a request object you published, then keep its public_key for the grant's later releases. Standard Webhooks headers come with every POST: webhook-id (the release_id; answer 2xx again for an id you have), webhook-timestamp (Unix seconds; refuse one more than 5 minutes off) and webhook-signature ("v1a," + base64 Ed25519 signature over "{webhook-id}.{webhook-timestamp}.{body}" with the same key). Answer 2xx once stored, 410 if you ended the grant (Locket records that you gave it back), another 4xx to refuse for good; anything else is retried with backoff for up to 3 days.
 */
export type ReleaseV1 = {
  format: "locket.release/v1";
  /**
   * grant: the owner approved (grant file and values); update: a granted value changed (the current values of every granted scope); revoke: the owner revoked — stop using the data and erase it as promised; expire: the grant reached its end.
   */
  event: "grant" | "update" | "revoke" | "expire";
  /**
   * Also the webhook-id; unique.
   */
  release_id: string;
  grant_id: string;
  /**
   * 1 for the grant's first release, higher for each later one, never reused. Apply a release only if its sequence is higher than the last one you applied for the grant; a gap means Locket withdrew an undelivered release (the owner revoked before it went out).
   */
  sequence: number;
  /**
   * Your pairwise subject id for the owner (the token's sub).
   */
  subject: string;
  /**
   * Your retailer id (the token's aud).
   */
  retailer_id: string;
  /**
   * The state of the request object the grant answers.
   */
  state: string;
  issued_at: string;
  /**
   * The grant file (event grant only): schema grant.v1.schema.json. Its public_key verifies this release, its token and its receipt.
   */
  grant?: {};
  /**
   * The current granted values (grant and update): replace what you hold for the grant with these.
   */
  fields?: {
    key: string;
    label: string;
    /**
     * The value's version (0 for a computed answer or a default).
     */
    version: number;
    value: unknown;
    /**
     * The granted scope that covers it.
     */
    scope: string;
  }[];
  /**
   * Granted optional scopes with no value now: what you hold for them is outdated.
   */
  empty_scopes?: string[];
  /**
   * How the grant ended (revoke and expire only).
   */
  ended?: {
    at: string;
    by: "owner" | "expiry";
    /**
     * true on every revoke: the owner asks you to erase what you received under the grant.
     */
    erasure_requested: boolean;
    /**
     * Your retention promise from the request, which applies to whatever you keep.
     */
    retention: {
      max_duration: string;
      statement: string;
    };
    reason?: string;
  };
};
