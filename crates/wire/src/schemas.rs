//! The published JSON Schemas (`docs/schemas`), as text, for validators and for retailers' tooling.

/// `locket.grant-request/v1` (what a retailer sends).
pub const REQUEST_SCHEMA: &str = include_str!("../../../docs/schemas/grant-request.v1.schema.json");

/// `locket.grant/v1` (the grant file a retailer receives).
pub const GRANT_SCHEMA: &str = include_str!("../../../docs/schemas/grant.v1.schema.json");

/// `locket.consent-receipt/v1`.
pub const RECEIPT_SCHEMA: &str = include_str!("../../../docs/schemas/consent-receipt.v1.schema.json");

/// The claims of a grant token (version 1).
pub const TOKEN_CLAIMS_SCHEMA: &str = include_str!("../../../docs/schemas/token-claims.v1.schema.json");

/// `locket.retailer/v1` (a retailer's `/.well-known/locket-retailer.json`).
pub const METADATA_SCHEMA: &str = include_str!("../../../docs/schemas/retailer-metadata.v1.schema.json");

/// The payload claims of a signed request object (a grant request plus `state`, `request_uri`, `iat`, `exp`).
pub const REQUEST_OBJECT_SCHEMA: &str = include_str!("../../../docs/schemas/request-object.v1.schema.json");

/// `locket.release/v1` (what Locket delivers to a retailer's server, inside the JWS inside the JWE).
pub const RELEASE_SCHEMA: &str = include_str!("../../../docs/schemas/release.v1.schema.json");
