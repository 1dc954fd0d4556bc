// A shop's own keys: an Ed25519 signing key (request objects) and an X25519 encryption key (releases), as JWKs.

import { createHash, generateKeyPairSync } from "node:crypto";
import type { PrivateJwk, PublicJwk } from "./types.js";

/** A shop's private keys. Keep them secret: only {@link publicJwks} is published. */
export interface ShopKeys {
  /** Ed25519, `use` sig, `alg` EdDSA, `kid` `sig-` + 16 characters of its thumbprint. */
  signing: PrivateJwk;
  /** X25519, `use` enc, `alg` ECDH-ES, `kid` `enc-` + 16 characters of its thumbprint. */
  encryption: PrivateJwk;
}

/** JWK members that only a private key has; none of them is ever published. */
export const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;

/**
 * The RFC 7638 thumbprint (SHA-256, base64url) of a public `OKP` or `EC` JWK: a key's identity, whatever its `kid`.
 *
 * @throws Error for another key type or a missing member.
 */
export function jwkThumbprint(jwk: { kty: string; crv?: string; x?: string; y?: string }): string {
  const need = (v: string | undefined, name: string) => {
    if (typeof v !== "string") throw new Error(`the key has no ${name}`);
    return v;
  };
  let canonical: string;
  if (jwk.kty === "OKP") {
    canonical = JSON.stringify({ crv: need(jwk.crv, "crv"), kty: "OKP", x: need(jwk.x, "x") });
  } else if (jwk.kty === "EC") {
    canonical = JSON.stringify({ crv: need(jwk.crv, "crv"), kty: "EC", x: need(jwk.x, "x"), y: need(jwk.y, "y") });
  } else {
    throw new Error(`key type ${JSON.stringify(jwk.kty)} is not supported`);
  }
  return createHash("sha256").update(canonical).digest("base64url");
}

function make(type: "ed25519" | "x25519", use: "sig" | "enc"): PrivateJwk {
  const { privateKey } = generateKeyPairSync(type as "ed25519");
  const jwk = privateKey.export({ format: "jwk" }) as { crv: "Ed25519" | "X25519"; x: string; d: string };
  const thumb = jwkThumbprint({ kty: "OKP", crv: jwk.crv, x: jwk.x });
  return {
    kty: "OKP",
    crv: jwk.crv,
    x: jwk.x,
    d: jwk.d,
    kid: `${use}-${thumb.slice(0, 16)}`,
    use,
    alg: use === "sig" ? "EdDSA" : "ECDH-ES",
  };
}

/**
 * New random shop keys (what `locket-retailer keys new` makes): an Ed25519 signing key and an X25519 encryption
 * key, each a private JWK with `kid`, `use` and `alg`. Store the result as JSON, somewhere secret.
 */
export function generateShopKeys(): ShopKeys {
  return { signing: make("ed25519", "sig"), encryption: make("x25519", "enc") };
}

/** The public half of a JWK: every member but the private ones ({@link PRIVATE_MEMBERS}). */
export function publicJwk(jwk: PrivateJwk | PublicJwk): PublicJwk {
  const copy: Record<string, unknown> = { ...jwk };
  for (const m of PRIVATE_MEMBERS) delete copy[m];
  return copy as unknown as PublicJwk;
}

/** The key set a shop publishes in its metadata's `jwks`: the public signing key, then the encryption key. */
export function publicJwks(keys: ShopKeys): { keys: PublicJwk[] } {
  return { keys: [publicJwk(keys.signing), publicJwk(keys.encryption)] };
}
