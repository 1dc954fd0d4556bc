import { describe, expect, it } from "vitest";
import { openRelease, ReleaseError, webhookHeaders } from "../src/index.js";
import { readRepoJson } from "./repo.js";

const shop = readRepoJson("tests/golden/retailer-keys.test-only.json");
const grant = readRepoJson("tests/golden/grant.v1.json");
const sealed = readRepoJson("tests/golden/release.v1.sealed.json");
const golden = readRepoJson("tests/golden/release.v1.json");
const expected: Record<string, string> = readRepoJson("tests/vectors/release/expected.json");

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "opened";
  } catch (e) {
    if (e instanceof ReleaseError) return e.code;
    throw e;
  }
}

describe("openRelease against what Locket produces", () => {
  it("opens the golden delivery with the golden shop key, the key from its grant file", async () => {
    const now = Number(sealed.headers["webhook-timestamp"]);
    const opened = await openRelease({ body: sealed.body, headers: sealed.headers, encryptionKey: shop.encryption, now });
    expect(opened.release).toEqual(golden);
    expect(opened.publicKey).toBe(grant.public_key);
    expect(opened.keyId).toBe(grant.key_id);
    // The same with the key known, with bytes, and with fetch Headers.
    const again = await openRelease({
      body: new TextEncoder().encode(sealed.body),
      headers: new Headers(sealed.headers),
      encryptionKey: shop.encryption,
      grantKey: grant.public_key,
      now: now + 300,
    });
    expect(again.release.release_id).toBe(golden.release_id);
  });

  it("refuses the golden delivery 301 s late, with another shop's key or signed by another key", async () => {
    const now = Number(sealed.headers["webhook-timestamp"]);
    const base = { body: sealed.body, headers: sealed.headers, encryptionKey: shop.encryption };
    expect(await codeOf(openRelease({ ...base, now: now + 301 }))).toBe("release_timestamp_stale");
    expect(await codeOf(openRelease({ ...base, now: now - 301 }))).toBe("release_timestamp_stale");
    const other = "k4.public." + Buffer.alloc(32, 9).toString("base64url");
    expect(await codeOf(openRelease({ ...base, now, grantKey: other }))).toBe("release_unknown_key");
    expect(await codeOf(openRelease({ ...base, now, body: "A".repeat(1024 * 1024 + 1) }))).toBe("release_too_large");
    const { "webhook-signature": _s, ...noSig } = sealed.headers;
    expect(await codeOf(openRelease({ ...base, now, headers: noSig }))).toBe("release_headers_invalid");
  });

  const vectors = Object.entries(expected);
  it("has a vector for each refusal", () => expect(vectors.length).toBeGreaterThanOrEqual(9));
  for (const [file, code] of vectors) {
    it(`refuses ${file} with ${code}`, async () => {
      const v = readRepoJson(`tests/vectors/release/${file}`);
      expect(["known", "from_grant_file"]).toContain(v.expected_key);
      // Locket's own test opens every vector at the golden delivery's time (tests/integration/release_format.rs AT).
      const now = Number(sealed.headers["webhook-timestamp"]);
      expect(typeof webhookHeaders(v.headers).timestamp).toBe("bigint");
      const grantKey = v.expected_key === "known" ? grant.public_key : undefined;
      expect(await codeOf(openRelease({ body: v.body, headers: v.headers, encryptionKey: shop.encryption, grantKey, now }))).toBe(code);
    });
  }
});
