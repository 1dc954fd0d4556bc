// Grant files and offline token verification, against Locket's golden grant and its must-refuse vectors.
import { readdirSync, readFileSync } from "node:fs";
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { GrantFileError, GrantTokenError, readGrantFile, verifyGrantToken } from "../src/index.js";
import { FakeLocket } from "./fake-locket.js";
import { readRepo, readRepoJson, repoPath } from "./repo.js";

const golden = readRepoJson("tests/golden/grant.v1.json");
const AT = Date.parse("2026-11-30T00:00:00Z") / 1000;
const opts = { publicKey: golden.public_key, issuer: golden.issuer, now: AT };

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof GrantTokenError || e instanceof GrantFileError) return e.code;
    throw e;
  }
  return undefined;
}

describe("readGrantFile", () => {
  it("reads the golden grant file, as text, bytes or an object, typed", () => {
    const text = readRepo("tests/golden/grant.v1.json");
    for (const input of [text, Buffer.from(text), golden]) {
      const g = readGrantFile(input);
      expect(g.grant_id).toBe("gr_0123456789abcdef0123456789abcdef");
      expect(g.scopes.map((s) => s.scope)).toEqual(["contact.email", "sizes"]);
    }
    expect(readGrantFile(readRepo("tests/golden/grant.v1.vault-wide.json")).format).toBe("locket.grant/v1");
  });

  it("refuses each must-refuse vector with Locket's code", () => {
    const dir = "tests/vectors/grant-file";
    const expected: Record<string, string> = readRepoJson(`${dir}/expected.json`);
    const files = readdirSync(repoPath(dir)).filter((f) => f.startsWith("fail_"));
    expect(files.sort()).toEqual(Object.keys(expected).sort());
    for (const f of files) expect([f, code(() => readGrantFile(readFileSync(repoPath(`${dir}/${f}`))))]).toEqual([f, expected[f]]);
  });

  it("lists every schema problem and refuses unknown members and oversized files", () => {
    const e = (() => {
      try {
        readGrantFile({ ...golden, extra: 1, subject: "short", max_uses: 0 });
      } catch (err) {
        return err as GrantFileError;
      }
    })();
    expect(e?.code).toBe("grant_file_invalid");
    expect(e?.problems).toEqual(["grant.extra: not a member of a grant file", "grant.subject: 43 base64url characters", "grant.max_uses: an integer of at least 1, or null"]);
    expect(code(() => readGrantFile(" ".repeat(256 * 1024 + 1)))).toBe("grant_file_too_large");
  });
});

describe("verifyGrantToken", () => {
  it("verifies the golden token with the grant file's key, typed claims and times", () => {
    const v = verifyGrantToken(golden.token, { ...opts, retailerId: "shop.example" });
    expect(v.claims.jti).toBe(golden.grant_id);
    expect(v.claims.scope).toEqual(["contact.email", "sizes"]);
    expect(v.keyId).toBe(golden.key_id);
    expect(v.expiresAt.toISOString()).toBe("2026-12-24T15:00:00.000Z");
  });

  it("refuses each must-refuse token vector with the endpoint's code", () => {
    const dir = "tests/vectors/token";
    const expected: Record<string, string> = readRepoJson(`${dir}/expected.json`);
    const files = readdirSync(repoPath(dir)).filter((f) => f.startsWith("fail_"));
    expect(files.sort()).toEqual(Object.keys(expected).sort());
    for (const f of files) {
      const token = readFileSync(repoPath(`${dir}/${f}`), "utf8").trim();
      expect([f, code(() => verifyGrantToken(token, opts))]).toEqual([f, expected[f]]);
    }
  });

  it("checks the window at its edges: nbf is valid, exp is not", () => {
    const nbf = Date.parse("2026-11-24T15:00:00Z") / 1000;
    const exp = Date.parse("2026-12-24T15:00:00Z") / 1000;
    expect(code(() => verifyGrantToken(golden.token, { ...opts, now: nbf - 1 }))).toBe("token_not_yet_valid");
    expect(code(() => verifyGrantToken(golden.token, { ...opts, now: nbf }))).toBeUndefined();
    expect(code(() => verifyGrantToken(golden.token, { ...opts, now: exp - 1 }))).toBeUndefined();
    expect(code(() => verifyGrantToken(golden.token, { ...opts, now: exp }))).toBe("token_expired");
  });

  it("refuses another retailer, another issuer, another key and a key that is not PASERK", () => {
    expect(code(() => verifyGrantToken(golden.token, { ...opts, retailerId: "other.example" }))).toBe("token_retailer_mismatch");
    expect(code(() => verifyGrantToken(golden.token, { ...opts, issuer: "iss_00000000000000000000000000000000" }))).toBe("token_unknown_key");
    const other = new FakeLocket();
    expect(code(() => verifyGrantToken(golden.token, { ...opts, publicKey: other.publicKey }))).toBe("token_unknown_key");
    expect(code(() => verifyGrantToken(other.grantFile.token, { publicKey: other.publicKey, now: AT }))).toBeUndefined();
    const x = (generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }) as { x: string }).x;
    expect(code(() => verifyGrantToken(golden.token, { ...opts, publicKey: x }))).toBe("token_key_invalid");
  });
});
