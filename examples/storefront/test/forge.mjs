// A forged delivery, built with node:crypto only: a release encrypted to the shop's real (published) encryption
// key, as Locket would, but signed with a key that is not the grant's — what an attacker who knows the grant id
// could send. The shop must refuse it and change nothing.

import { createHash, createCipheriv, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, sign } from "node:crypto";

const b64u = (b) => Buffer.from(b).toString("base64url");

function concatKdf(z, enc, bits) {
  const len = (b) => {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(b.length);
    return Buffer.concat([out, b]);
  };
  const keydatalen = Buffer.alloc(4);
  keydatalen.writeUInt32BE(bits);
  const counter = Buffer.from([0, 0, 0, 1]);
  const info = Buffer.concat([len(Buffer.from(enc)), len(Buffer.alloc(0)), len(Buffer.alloc(0)), keydatalen]);
  return createHash("sha256").update(Buffer.concat([counter, z, info])).digest().subarray(0, bits / 8);
}

/** A compact JWE (ECDH-ES, A256GCM) of `plaintext` to the public X25519 JWK `to`. */
export function encryptTo(to, plaintext) {
  const eph = generateKeyPairSync("x25519");
  const epk = eph.publicKey.export({ format: "jwk" });
  const z = diffieHellman({ privateKey: eph.privateKey, publicKey: createPublicKey({ key: { kty: "OKP", crv: "X25519", x: to.x }, format: "jwk" }) });
  const header = b64u(JSON.stringify({ alg: "ECDH-ES", enc: "A256GCM", kid: to.kid, cty: "locket-release+jws", epk: { kty: "OKP", crv: "X25519", x: epk.x } }));
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", concatKdf(z, "A256GCM", 256), iv);
  cipher.setAAD(Buffer.from(header));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return `${header}..${b64u(iv)}.${b64u(ct)}.${b64u(cipher.getAuthTag())}`;
}

/**
 * A delivery (body and Standard Webhooks headers) of `release` signed with a fresh key under the `kid` given,
 * encrypted to the shop's metadata's `enc` key.
 */
export function forgedDelivery(metadata, release, kid) {
  const { privateKey } = generateKeyPairSync("ed25519");
  const head = b64u(JSON.stringify({ alg: "Ed25519", typ: "locket-release+jws", kid }));
  const payload = b64u(JSON.stringify(release));
  const jws = `${head}.${payload}.${b64u(sign(null, Buffer.from(`${head}.${payload}`), privateKey))}`;
  const enc = metadata.jwks.keys.find((k) => k.use === "enc");
  const body = encryptTo(enc, jws);
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = sign(null, Buffer.from(`${release.release_id}.${ts}.${body}`), privateKey).toString("base64");
  return {
    body,
    headers: { "content-type": "application/jose", "webhook-id": release.release_id, "webhook-timestamp": ts, "webhook-signature": `v1a,${sig}` },
  };
}
