import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { blake2b, keyIdOf, verifyV4Public } from "../src/paserk.js";
import { readRepoJson } from "./repo.js";

describe("PASERK and PASETO v4.public", () => {
  it("BLAKE2b matches RFC 7693 and Node's 512-bit digest", () => {
    expect(blake2b(Buffer.from("abc"), 64).toString("hex")).toBe(
      "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1" +
        "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
    );
    for (const n of [0, 1, 127, 128, 129, 300]) {
      const data = Buffer.alloc(n, 7);
      expect(blake2b(data, 64).equals(createHash("blake2b512").update(data).digest())).toBe(true);
    }
  });

  it("the golden grant's key id is the PASERK id of its public key", () => {
    const grant = readRepoJson("tests/golden/grant.v1.json");
    expect(keyIdOf(grant.public_key)).toBe(grant.key_id);
  });

  it("the golden receipt's proof verifies with the grant's key, and not with another footer", () => {
    const grant = readRepoJson("tests/golden/grant.v1.json");
    const footer = JSON.stringify({ kid: grant.key_id });
    const token = grant.receipt.proof.token;
    expect(verifyV4Public(token, grant.public_key, footer, "locket.consent-receipt/v1")).toBeDefined();
    expect(verifyV4Public(token, grant.public_key, footer, "")).toBeUndefined();
    expect(verifyV4Public(token, grant.public_key, "{}", "locket.consent-receipt/v1")).toBeUndefined();
  });
});
