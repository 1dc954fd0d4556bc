// A grant made by the real `locket`: its grant file read and its token verified offline by this package, then
// redeemed at `locket serve` on loopback with LocalLocket — until the owner revokes it.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GrantTokenError, LocalLocket, LocketApiError, readGrantFile, verifyGrantToken, type GrantFile } from "../src/index.js";
import { FakeLocket } from "../test/fake-locket.js";
import { readRepoJson, repoPath } from "../test/repo.js";
import { freePort, World } from "./world.js";

let w: World;
let port: number;
let grantFile: GrantFile;
let grantText: string;
let shortLived: GrantFile;

function refusedWith(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof GrantTokenError) return e.code;
    throw e;
  }
  return undefined;
}

async function apiCode(p: Promise<unknown>): Promise<[number, string]> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LocketApiError) return [e.status, e.code];
    throw e;
  }
  throw new Error("the call was not refused");
}

beforeAll(async () => {
  w = new World();
  port = await freePort();
  await w.ok(["init"]);
  await w.ok(["profile", "set", "contact.email", "ada@example.org"]);
  await w.ok(["profile", "set", "contact.phone", "+44 20 7946 0000"]);
  // The golden request (shop.example) asks for contact.email, contact, sizes and a marketing opt-in; the owner grants the email alone.
  const request = await w.ok(["requests", "import", repoPath("tests/golden/grant-request.v1.json")]);
  const out = join(w.dir, "grant.json");
  await w.ok(["grant", "approve", request.id, "--only", "contact.email", "--endpoint", `http://127.0.0.1:${port}`, "--out", out]);
  grantText = readFileSync(out, "utf8");
  grantFile = readGrantFile(grantText);
  // A second request (the same, with another nonce), granted for 3 seconds: a token that really expires.
  const again = { ...readRepoJson("tests/golden/grant-request.v1.json"), nonce: "shortLivedGrant0123456" };
  writeFileSync(join(w.dir, "again.json"), JSON.stringify(again));
  const second = await w.ok(["requests", "import", join(w.dir, "again.json")]);
  const shortOut = join(w.dir, "short.json");
  await w.ok(["grant", "approve", second.id, "--only", "contact.email", "--expires", "3s", "--endpoint", `http://127.0.0.1:${port}`, "--out", shortOut]);
  shortLived = readGrantFile(readFileSync(shortOut, "utf8"));
});
afterAll(async () => w?.close());

describe("a grant file made by locket", () => {
  it("is read and its token verified offline", () => {
    expect(grantFile.retailer.id).toBe("shop.example");
    expect(grantFile.scopes.map((s) => s.scope)).toEqual(["contact.email"]);
    const v = verifyGrantToken(grantFile.token, { publicKey: grantFile.public_key, retailerId: "shop.example", issuer: grantFile.issuer });
    expect(v.claims.jti).toBe(grantFile.grant_id);
    expect(v.claims.sub).toBe(grantFile.subject);
    expect(v.claims.scope).toEqual(["contact.email"]);
    expect(v.keyId).toBe(grantFile.key_id);
    expect(v.expiresAt.toISOString().replace(".000", "")).toBe(grantFile.expires_at);
  });

  it("refuses a tampered token, another key, another retailer and an expired token with the endpoint's codes", () => {
    const opts = { publicKey: grantFile.public_key, retailerId: "shop.example" };
    const [v, p, body, footer] = grantFile.token.split(".") as [string, string, string, string];
    const bytes = Buffer.from(body, "base64url");
    bytes[5] = bytes[5]! ^ 1; // a claim byte
    expect(refusedWith(() => verifyGrantToken(`${v}.${p}.${bytes.toString("base64url")}.${footer}`, opts))).toBe("token_invalid_signature");
    expect(refusedWith(() => verifyGrantToken(grantFile.token.slice(0, -3), opts))).toBe("token_malformed");
    expect(refusedWith(() => verifyGrantToken(grantFile.token, { ...opts, publicKey: new FakeLocket().publicKey }))).toBe("token_unknown_key");
    expect(refusedWith(() => verifyGrantToken(grantFile.token, { ...opts, retailerId: "other.example" }))).toBe("token_retailer_mismatch");
    const exp = Date.parse(grantFile.expires_at) / 1000;
    expect(refusedWith(() => verifyGrantToken(grantFile.token, { ...opts, now: exp }))).toBe("token_expired");
    expect(refusedWith(() => verifyGrantToken(grantFile.token, { ...opts, now: Date.parse(grantFile.not_before) / 1000 - 1 }))).toBe("token_not_yet_valid");
  });

  it("a grant of 3 seconds: refused as token_expired once over, offline and by locket serve alike", async () => {
    const exp = Date.parse(shortLived.expires_at);
    expect(exp - Date.parse(shortLived.issued_at)).toBe(3000);
    await new Promise((ok) => setTimeout(ok, Math.max(0, exp - Date.now()) + 200));
    expect(refusedWith(() => verifyGrantToken(shortLived.token, { publicKey: shortLived.public_key }))).toBe("token_expired");
    await w.serve(`127.0.0.1:${port}`);
    try {
      expect(await apiCode(new LocalLocket({ endpoint: shortLived.endpoint }).data(shortLived.token))).toEqual([401, "token_expired"]);
      // Introspection reports an expired grant rather than refusing it.
      const status = await new LocalLocket({ endpoint: shortLived.endpoint }).grant(shortLived.token);
      expect([status.active, status.status, status.uses]).toEqual([false, "expired", 0]);
    } finally {
      await w.stopServe();
    }
  });

  it("redeems at locket serve for exactly the granted fields, and is refused there once revoked", async () => {
    const served = await w.serve(`127.0.0.1:${port}`);
    expect(served).toBe(grantFile.endpoint);
    const locket = new LocalLocket({ endpoint: grantFile.endpoint });
    const data = await locket.data(grantFile.token);
    expect(data.grant_id).toBe(grantFile.grant_id);
    expect(data.fields).toEqual([{ key: "contact.email", label: "Email address", version: 1, value: "ada@example.org", scope: "contact.email" }]);
    expect(data.empty_scopes).toEqual([]);
    expect(data.uses).toBe(1);
    const status = await locket.grant(grantFile.token);
    expect([status.active, status.status, status.uses]).toEqual([true, "active", 1]);
    // A token signed by another vault is refused by the endpoint with the code verifyGrantToken gives.
    expect(await apiCode(locket.data(new FakeLocket().grantFile.token))).toEqual([401, "token_unknown_key"]);
    await w.stopServe();

    await w.ok(["grant", "revoke", grantFile.grant_id]);
    // Offline verification cannot see the revocation; the endpoint can.
    expect(() => verifyGrantToken(grantFile.token, { publicKey: grantFile.public_key })).not.toThrow();
    await w.serve(`127.0.0.1:${port}`);
    expect(await apiCode(locket.data(grantFile.token))).toEqual([403, "grant_revoked"]);
    const after = await locket.grant(grantFile.token);
    expect([after.active, after.status, after.revoked_by]).toEqual([false, "revoked", "owner"]);
    await w.stopServe();
  });
});
