// Opens Locket releases the way a retailer's Node.js server would, with the `jose` package alone (plus
// node:crypto for the Standard Webhooks v1a signature): compactDecrypt with the shop's private key, then
// compactVerify with the grant's public key. Input: a JSON file
//   { "shop_key": <the shop's private encryption JWK>,
//     "releases": [ { "body": <compact JWE>, "headers": { "webhook-id", "webhook-timestamp",
//                     "webhook-signature" }, "grant_key": "k4.public.…" } ] }
// Prints {"verified": N, "events": [...]} and exits 0, or names the first failure and exits 1.
import { compactDecrypt, compactVerify, importJWK } from "jose";
import { readFileSync } from "node:fs";
import { createPublicKey, verify } from "node:crypto";

function fail(message) {
  console.error(`interop failure: ${message}`);
  process.exit(1);
}

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const shopKey = await importJWK(input.shop_key, "ECDH-ES");
const events = [];
for (const [i, r] of input.releases.entries()) {
  const { plaintext, protectedHeader: jwe } = await compactDecrypt(r.body, shopKey).catch((e) =>
    fail(`release ${i}: compactDecrypt: ${e.message}`),
  );
  if (jwe.alg !== "ECDH-ES" || jwe.enc !== "A256GCM" || jwe.cty !== "locket-release+jws") {
    fail(`release ${i}: unexpected JWE header ${JSON.stringify(jwe)}`);
  }
  // The grant's key: PASERK k4.public.<base64url Ed25519 key> is the JWK's x.
  if (!r.grant_key.startsWith("k4.public.")) fail(`release ${i}: grant key ${r.grant_key}`);
  const jwk = { kty: "OKP", crv: "Ed25519", x: r.grant_key.slice("k4.public.".length) };
  const key = await importJWK(jwk, "Ed25519");
  const jws = new TextDecoder().decode(plaintext);
  const { payload, protectedHeader: h } = await compactVerify(jws, key, { algorithms: ["Ed25519", "EdDSA"] }).catch(
    (e) => fail(`release ${i}: compactVerify: ${e.message}`),
  );
  if (h.typ !== "locket-release+jws") fail(`release ${i}: JWS typ ${h.typ}`);
  const doc = JSON.parse(new TextDecoder().decode(payload));
  if (doc.format !== "locket.release/v1") fail(`release ${i}: format ${doc.format}`);
  const id = r.headers["webhook-id"];
  const ts = r.headers["webhook-timestamp"];
  if (doc.release_id !== id) fail(`release ${i}: webhook-id ${id} is not the release id ${doc.release_id}`);
  const sig = (r.headers["webhook-signature"] || "")
    .split(" ")
    .find((s) => s.startsWith("v1a,"));
  if (!sig) fail(`release ${i}: no v1a webhook signature`);
  const pub = createPublicKey({ key: jwk, format: "jwk" });
  const signed = Buffer.from(`${id}.${ts}.${r.body}`);
  if (!verify(null, signed, pub, Buffer.from(sig.slice(4), "base64"))) fail(`release ${i}: webhook signature`);
  if (verify(null, Buffer.from(`${id}.${Number(ts) + 1}.${r.body}`), pub, Buffer.from(sig.slice(4), "base64"))) {
    fail(`release ${i}: the webhook signature does not cover the timestamp`);
  }
  // One character of the ciphertext changed: jose must refuse it.
  const parts = r.body.split(".");
  parts[3] = (parts[3][0] === "A" ? "B" : "A") + parts[3].slice(1);
  const tampered = await compactDecrypt(parts.join("."), shopKey).then(
    () => true,
    () => false,
  );
  if (tampered) fail(`release ${i}: a tampered ciphertext decrypted`);
  events.push({ event: doc.event, sequence: doc.sequence, fields: (doc.fields || []).map((f) => f.key) });
}
console.log(JSON.stringify({ verified: events.length, events }));
