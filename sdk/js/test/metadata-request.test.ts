import { describe, expect, it } from "vitest";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { compactVerify, importJWK, decodeProtectedHeader } from "jose";
import {
  connectLink,
  generateShopKeys,
  jwkThumbprint,
  LocketInputError,
  publicJwks,
  shopMetadata,
  signRequestObject,
  webOrigin,
} from "../src/index.js";
import { readRepoJson } from "./repo.js";

const details = {
  origin: "https://Shop.Example:443/",
  name: "Example Shop",
  contact: "privacy@shop.example",
  privacyPolicy: "https://shop.example/privacy",
  deliveryUrl: "https://shop.example/locket/deliveries",
};

function validator(name: string) {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  return ajv.compile(readRepoJson(`docs/schemas/${name}.schema.json`));
}

describe("keys and metadata", () => {
  it("makes keys with thumbprint kids and publishes only their public halves", () => {
    const keys = generateShopKeys();
    expect(keys.signing).toMatchObject({ kty: "OKP", crv: "Ed25519", use: "sig", alg: "EdDSA" });
    expect(keys.encryption).toMatchObject({ kty: "OKP", crv: "X25519", use: "enc", alg: "ECDH-ES" });
    expect(keys.signing.kid).toBe(`sig-${jwkThumbprint(keys.signing).slice(0, 16)}`);
    expect(JSON.stringify(publicJwks(keys))).not.toContain('"d"');
  });

  it("matches RFC 8037's thumbprint example", () => {
    expect(jwkThumbprint({ kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" })).toBe(
      "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
    );
  });

  it("writes a document the schema accepts, with the origin canonical, like the golden one", () => {
    const doc = shopMetadata(details, generateShopKeys());
    expect(doc.id).toBe("https://shop.example");
    const validate = validator("retailer-metadata.v1");
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    const golden = readRepoJson("tests/golden/retailer-metadata.v1.json");
    expect(Object.keys(doc).sort()).toEqual(Object.keys(golden).sort());
    // The golden test keys give the golden metadata's key set.
    const keys = readRepoJson("tests/golden/retailer-keys.test-only.json");
    expect(publicJwks(keys).keys.map((k) => k.kid).sort()).toEqual(golden.jwks.keys.map((k: { kid: string }) => k.kid).sort());
  });

  it("refuses what Locket would refuse", () => {
    const keys = generateShopKeys();
    const problems = (d: Partial<typeof details>) => {
      try {
        shopMetadata({ ...details, ...d }, keys);
        return [];
      } catch (e) {
        expect(e).toBeInstanceOf(LocketInputError);
        expect((e as LocketInputError).code).toBe("retailer_metadata_invalid");
        return (e as LocketInputError).problems;
      }
    };
    expect(problems({})).toEqual([]);
    expect(problems({ deliveryUrl: "https://evil.example/in" })[0]).toMatch(/^deliveryUrl: is on https:\/\/evil.example/);
    expect(problems({ name: "Shop\u202e" })[0]).toMatch(/U\+202E/);
    expect(problems({ contact: "http://shop.example/contact" })[0]).toMatch(/https/);
    expect(problems({ origin: "http://shop.example" })[0]).toMatch(/^origin:/);
    for (const bad of ["https://shop.example/path", "https://user@shop.example", "https://127.0.0.1", "https://[::1]", "https://shop.example?x=1", "https://intranet", "locket://connect"]) {
      expect(() => webOrigin(bad), bad).toThrow();
    }
    expect(webOrigin("https://shop.test:8443")).toBe("https://shop.test:8443");
    const leaky = { ...keys, signing: { ...keys.signing } };
    expect(() => shopMetadata(details, { ...leaky, encryption: { ...keys.encryption, kid: keys.signing.kid } })).toThrow(/used by an earlier key/);
  });
});

describe("request objects", () => {
  const request = readRepoJson("tests/golden/grant-request.v1.json");

  it("signs what Locket verifies: typ, kid, alg, the request and the four members", async () => {
    const keys = generateShopKeys();
    const signed = await signRequestObject({ request, requestUri: "https://shop.example/locket/requests/abc", ttlSeconds: 600, now: 1_796_000_000 }, keys.signing);
    expect(signed.state).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(signed.expiresAt - signed.issuedAt).toBe(600);
    expect(decodeProtectedHeader(signed.jws)).toEqual({ alg: "EdDSA", typ: "locket-request+jwt", kid: keys.signing.kid });
    const { alg: _a, use: _u, d: _d, ...pub } = keys.signing;
    const { payload } = await compactVerify(signed.jws, await importJWK(pub, "EdDSA"));
    const claims = JSON.parse(new TextDecoder().decode(payload));
    expect(claims).toEqual({ ...request, state: signed.state, request_uri: signed.requestUri, iat: 1_796_000_000, exp: 1_796_000_600 });
    const validate = validator("request-object.v1");
    expect(validate(claims), JSON.stringify(validate.errors)).toBe(true);
    const ed = await signRequestObject({ request, requestUri: signed.requestUri, alg: "Ed25519", state: "s".repeat(16) }, keys.signing);
    expect(decodeProtectedHeader(ed.jws).alg).toBe("Ed25519");
  });

  it("refuses a lifetime over an hour, a bad state and a non-https URI", async () => {
    const keys = generateShopKeys();
    const uri = "https://shop.example/r/1";
    await expect(signRequestObject({ request, requestUri: uri, ttlSeconds: 3601 }, keys.signing)).rejects.toMatchObject({ code: "request_object_lifetime" });
    await expect(signRequestObject({ request, requestUri: uri, state: "short" }, keys.signing)).rejects.toMatchObject({ code: "request_object_malformed" });
    await expect(signRequestObject({ request, requestUri: "http://shop.example/r/1" }, keys.signing)).rejects.toMatchObject({ code: "request_object_malformed" });
  });

  it("percent-encodes the request URI in the connect link", () => {
    expect(connectLink("https://shop.test:8443/locket/requests/Gf0FtjN6wCWoUo8sTYBxGA")).toBe(
      "locket://connect?request_uri=https%3A%2F%2Fshop.test%3A8443%2Flocket%2Frequests%2FGf0FtjN6wCWoUo8sTYBxGA",
    );
  });
});
