// The package's public document types: generated from docs/schemas (src/generated), tightened where a schema
// refers to another one.

import type { GrantV1 } from "./generated/grant.v1.js";
import type { ReleaseV1 } from "./generated/release.v1.js";

export type { RetailerMetadataV1 as RetailerMetadata, Jwk as PublicJwk } from "./generated/retailer-metadata.v1.js";
export type { GrantRequestV1 as GrantRequest } from "./generated/grant-request.v1.js";
export type { RequestObjectV1 as RequestObjectMembers } from "./generated/request-object.v1.js";
export type { GrantV1 as GrantFile } from "./generated/grant.v1.js";
export type { TokenClaimsV1 as TokenClaims } from "./generated/token-claims.v1.js";

/** A `locket.release/v1` document (docs/schemas/release.v1.schema.json); `grant` is a `locket.grant/v1` file. */
export type Release = Omit<ReleaseV1, "grant"> & { grant?: GrantV1 };

/** What a release says happened. */
export type ReleaseEvent = Release["event"];

/** One granted value of a `grant` or `update` release. */
export type ReleasedField = NonNullable<Release["fields"]>[number];

/** A private JWK as this package makes it (Ed25519 or X25519 with `d`, `kid`, `use`, `alg`). */
export interface PrivateJwk {
  kty: "OKP";
  crv: "Ed25519" | "X25519";
  x: string;
  d: string;
  kid: string;
  use: "sig" | "enc";
  alg: "EdDSA" | "ECDH-ES";
}
