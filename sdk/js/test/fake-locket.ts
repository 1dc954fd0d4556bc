// A stand-in for the customer's Locket in tests: re-signs the golden grant file with a key of its own and seals
// releases exactly as crates/wire/src/release.rs `seal` and `webhook_headers` do.
import { CompactEncrypt, importJWK } from "jose";
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { keyIdOf, peekV4Public } from "../src/paserk.js";
import type { PublicJwk, Release } from "../src/index.js";
import { readRepoJson } from "./repo.js";

const le64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const pae = (pieces: Buffer[]) => Buffer.concat([le64(pieces.length), ...pieces.flatMap((p) => [le64(p.length), p])]);

function v4Sign(key: KeyObject, message: Buffer, footer: string, implicit: string): string {
  const sig = sign(null, pae([Buffer.from("v4.public."), message, Buffer.from(footer), Buffer.from(implicit)]), key);
  return `v4.public.${Buffer.concat([message, sig]).toString("base64url")}.${Buffer.from(footer).toString("base64url")}`;
}

/** A grant's key and the golden grant file re-signed with it. */
export class FakeLocket {
  readonly #key: KeyObject;
  readonly publicKey: string;
  readonly keyId: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly grantFile: any;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    this.#key = privateKey;
    const x = (publicKey.export({ format: "jwk" }) as { x: string }).x;
    this.publicKey = `k4.public.${x}`;
    this.keyId = keyIdOf(this.publicKey);
    const g = readRepoJson("tests/golden/grant.v1.json");
    const footer = JSON.stringify({ kid: this.keyId });
    g.public_key = this.publicKey;
    g.key_id = this.keyId;
    g.token = v4Sign(privateKey, peekV4Public(g.token)!.message, footer, "");
    const { proof, ...receipt } = g.receipt;
    receipt.issuer = { ...receipt.issuer, public_key: this.publicKey, key_id: this.keyId };
    const token = v4Sign(privateKey, Buffer.from(JSON.stringify(receipt)), footer, "locket.consent-receipt/v1");
    g.receipt = { ...receipt, proof: { ...proof, key_id: this.keyId, token } };
    this.grantFile = g;
  }

  /** A release document of the golden grant. */
  release(event: Release["event"], sequence: number, over: Partial<Release> = {}): Release {
    const g = this.grantFile;
    const data = event === "grant" || event === "update";
    return {
      format: "locket.release/v1",
      event,
      release_id: `rel_${sequence.toString(16).padStart(32, "0")}`,
      grant_id: g.grant_id,
      sequence,
      subject: g.subject,
      retailer_id: g.retailer.id,
      state: "golden-state-0123456789",
      issued_at: "2026-11-24T15:00:00Z",
      ...(event === "grant" ? { grant: g } : {}),
      ...(data ? { fields: [{ key: "contact.email", label: "Email address", version: sequence, value: `ada${sequence}@example.org`, scope: "contact.email" }] } : {}),
      ...(data
        ? {}
        : {
            ended: {
              at: "2026-11-25T15:00:00Z",
              by: event === "revoke" ? "owner" : "expiry",
              erasure_requested: event === "revoke",
              retention: { max_duration: "until_grant_ends", statement: "We delete it when the grant ends." },
            },
          }),
      ...over,
    } as Release;
  }

  /** The body and headers of a delivery of `release` to `shopKey` at `timestamp`. */
  async seal(release: Release, shopKey: PublicJwk, timestamp: number): Promise<{ body: string; headers: Record<string, string> }> {
    const header = Buffer.from(JSON.stringify({ alg: "Ed25519", kid: this.keyId, typ: "locket-release+jws" })).toString("base64url");
    const payload = Buffer.from(JSON.stringify(release)).toString("base64url");
    const jws = `${header}.${payload}.${sign(null, Buffer.from(`${header}.${payload}`), this.#key).toString("base64url")}`;
    const { alg: _a, use: _u, ...material } = shopKey;
    const body = await new CompactEncrypt(new TextEncoder().encode(jws))
      .setProtectedHeader({ alg: "ECDH-ES", enc: "A256GCM", kid: shopKey.kid, cty: "locket-release+jws" })
      .encrypt(await importJWK(material, "ECDH-ES"));
    const sig = sign(null, Buffer.from(`${release.release_id}.${timestamp}.${body}`), this.#key).toString("base64");
    return { body, headers: { "webhook-id": release.release_id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1a,${sig}` } };
  }
}
