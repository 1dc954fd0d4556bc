// Everything on the shop's side made with this package, the customer's side the real `locket`, over HTTPS on
// loopback (a development CA from `locket-retailer dev-cert`, shop.test resolved to 127.0.0.1): metadata at the
// well-known path, a signed request object at its request_uri, a ReleaseReceiver at the delivery URL. Connect,
// approve, deliver, update, revoke; then the refusals a receiver owes to replays and forgeries.
import { readFileSync } from "node:fs";
import { createServer, request as httpsRequest, type Server } from "node:https";
import type { IncomingHttpHeaders } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connectLink,
  connectQrSvg,
  generateShopKeys,
  MemoryStore,
  randomState,
  readGrantFile,
  ReleaseReceiver,
  shopMetadata,
  signRequestObject,
  verifyGrantToken,
  WELL_KNOWN_PATH,
  type GrantEnded,
  type Release,
  type SignedRequestObject,
} from "../src/index.js";
import { freePort, World } from "./world.js";

interface Delivery {
  body: Buffer;
  headers: IncomingHttpHeaders;
  status: number;
  answer: Record<string, unknown>;
}

let w: World;
let server: Server;
let origin: string;
let ca: Buffer;
let signed: SignedRequestObject;
let grantId: string;
const keys = generateShopKeys();
const store = new MemoryStore();
const erased: GrantEnded[] = [];
const deliveries: Delivery[] = [];
const receiver = new ReleaseReceiver({ encryptionKey: keys.encryption, retailerId: "shop.test", store, onErase: (e) => void erased.push(e) });
const requestObjects = new Map<string, string>();

/** POSTs a delivery to the shop's server as Locket does; the server's answer. */
function post(body: Buffer | string, headers: IncomingHttpHeaders): Promise<{ status: number; answer: Record<string, unknown> }> {
  const pass: Record<string, string> = { "content-type": "application/jose" };
  for (const h of ["webhook-id", "webhook-timestamp", "webhook-signature"]) if (typeof headers[h] === "string") pass[h] = headers[h] as string;
  const u = new URL(`${origin}/locket/deliveries`);
  return new Promise((ok, fail) => {
    const req = httpsRequest({ host: "127.0.0.1", servername: "shop.test", port: u.port, path: u.pathname, method: "POST", headers: { ...pass, host: u.host }, ca }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c));
      res.on("end", () => ok({ status: res.statusCode ?? 0, answer: JSON.parse(text) }));
    });
    req.on("error", fail);
    req.end(body);
  });
}

/** The release inside a delivery this test's receiver accepted (the store keeps the documents it applied). */
function applied(d: Delivery): Release | undefined {
  return opened.get(String(d.headers["webhook-id"]));
}
const opened = new Map<string, Release>();

beforeAll(async () => {
  w = new World();
  const port = await freePort();
  origin = `https://shop.test:${port}`;
  const tls = join(w.dir, "tls");
  w.retailer(["dev-cert", "--host", "shop.test", "--out", tls]);
  ca = readFileSync(join(tls, "ca.pem"));
  Object.assign(w.env, {
    LOCKET_NET_EXTRA_CA: join(tls, "ca.pem"),
    LOCKET_NET_RESOLVE: "shop.test=127.0.0.1",
    LOCKET_NET_ALLOW_LOOPBACK: "1",
    LOCKET_NET_TIMEOUT_MS: "5000",
  });
  const metadata = shopMetadata(
    { origin, name: "Test Shop", contact: "privacy@shop.test", privacyPolicy: `${origin}/privacy`, deliveryUrl: `${origin}/locket/deliveries` },
    keys,
  );
  // Keep each applied document, to look at what the receiver accepted.
  const apply = store.applyRelease.bind(store);
  store.applyRelease = (release, grant) => {
    opened.set(release.release_id, release);
    apply(release, grant);
  };
  server = createServer({ cert: readFileSync(join(tls, "cert.pem")), key: readFileSync(join(tls, "key.pem")) }, async (req, res) => {
    const url = new URL(req.url ?? "/", origin);
    if (req.method === "GET" && url.pathname === WELL_KNOWN_PATH) {
      return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(metadata));
    }
    const jws = requestObjects.get(url.pathname);
    if (req.method === "GET" && jws) {
      requestObjects.delete(url.pathname); // served once
      return res.writeHead(200, { "content-type": "application/jwt", "cache-control": "no-store" }).end(jws);
    }
    if (req.method === "POST" && url.pathname === "/locket/deliveries") {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      const { status, body: answer } = await receiver.receive({ body, headers: req.headers });
      deliveries.push({ body, headers: req.headers, status, answer });
      return res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(answer));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
  await w.ok(["init"]);
  await w.ok(["profile", "set", "contact.email", "ada@example.org"]);
  await w.ok(["profile", "set", "contact.phone", "+44 20 7946 0000"]);
});
afterAll(async () => {
  await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
  await w?.close();
});

/** Makes every waiting delivery due now, then one delivery pass; its summary. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function deliverNow(): Promise<any> {
  for (const d of (await w.ok(["deliveries", "list"])).deliveries) if (d.status === "pending") await w.ok(["deliveries", "retry", d.release_id]);
  return w.ok(["deliveries", "send"]);
}

describe("a shop made with @locket/retailer, and the real locket", () => {
  it("connects: locket fetches the metadata and the signed request object, and shows it verified", async () => {
    const now = Math.floor(Date.now() / 1000);
    const requestUri = `${origin}/locket/requests/${randomState()}`;
    signed = await signRequestObject(
      {
        request: {
          format: "locket.grant-request/v1",
          retailer: { id: "shop.test", name: "Test Shop", origin, contact: "privacy@shop.test", privacy_policy: `${origin}/privacy` },
          scopes: [{ scope: "contact.email", purpose: "order_fulfilment", purpose_text: "To send your order confirmation", required: true }],
          requested_duration: "P30D",
          retention: { max_duration: "until_grant_ends", statement: "We delete your email when the grant ends." },
          nonce: randomState(),
          created_at: new Date((now - 5) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
        },
        requestUri,
        ttlSeconds: 600,
      },
      keys.signing,
    );
    store.recordState(signed.state, signed.expiresAt);
    requestObjects.set(new URL(requestUri).pathname, signed.jws);
    const link = connectLink(requestUri);
    expect(connectQrSvg(link)).toMatch(/^<svg /);
    const req = await w.ok(["requests", "connect", link]);
    expect(req.verified).toBe(true);
    expect(req.request.retailer.origin).toBe(origin);
    const shown = await w.ok(["requests", "show", req.id]);
    expect(shown.verified).toBe(true);
    const approved = await w.ok(["grant", "approve", req.id, "--out", join(w.dir, "grant.json")]);
    grantId = approved.grant.id;
  });

  it("delivers the grant release: the receiver accepts it, with the data and a grant file that verifies offline", async () => {
    expect((await deliverNow()).delivered).toBe(1);
    const d = deliveries.at(-1)!;
    expect([d.status, d.answer.status]).toEqual([200, "accepted"]);
    const release = applied(d)!;
    expect(release.event).toBe("grant");
    expect(release.state).toBe(signed.state);
    expect(release.fields).toEqual([{ key: "contact.email", label: "Email address", version: 1, value: "ada@example.org", scope: "contact.email" }]);
    const held = store.grants.get(grantId)!;
    expect(held.values.get("contact.email")).toMatchObject({ value: "ada@example.org", version: 1 });
    const file = readGrantFile(release.grant!);
    const v = verifyGrantToken(file.token, { publicKey: file.public_key, retailerId: "shop.test" });
    expect(v.claims.scope).toEqual(["contact.email"]);
    expect(v.claims.sub).toBe(release.subject);
  });

  it("delivers an edit of a granted field as an update with the new version", async () => {
    await w.ok(["profile", "set", "contact.email", "ada@new.example"]);
    await w.ok(["profile", "set", "contact.phone", "+44 20 7946 0001"]); // not granted: nothing to deliver
    expect((await deliverNow()).delivered).toBe(1);
    const d = deliveries.at(-1)!;
    expect([d.status, d.answer.status, d.answer.sequence]).toEqual([200, "accepted", 2]);
    expect(applied(d)?.event).toBe("update");
    expect(store.grants.get(grantId)!.values.get("contact.email")).toMatchObject({ value: "ada@new.example", version: 2 });
    expect([...store.grants.get(grantId)!.values.keys()]).toEqual(["contact.email"]);
  });

  it("answers a replay, a tampered body, a forged signature, another shop's key and an old release with Locket's codes", async () => {
    const [grant, update] = deliveries.filter((d) => d.answer.status === "accepted");
    expect((await post(grant!.body, grant!.headers)).answer).toMatchObject({ status: "duplicate", release_id: grant!.headers["webhook-id"] });
    expect((await post(update!.body, update!.headers)).answer.status).toBe("duplicate");

    const body = update!.body.toString();
    const i = body.lastIndexOf(".") - 10; // inside the ciphertext
    const tampered = body.slice(0, i) + (body[i] === "A" ? "B" : "A") + body.slice(i + 1);
    expect(await post(tampered, update!.headers)).toMatchObject({ status: 400, answer: { code: "release_decrypt_failed" } });

    const forged = { ...update!.headers, "webhook-signature": grant!.headers["webhook-signature"] };
    expect(await post(update!.body, forged)).toMatchObject({ status: 401, answer: { code: "release_invalid_signature" } });
    expect(await post(update!.body, { ...update!.headers, "webhook-timestamp": String(Math.floor(Date.now() / 1000) - 3600) })).toMatchObject({
      status: 401,
      answer: { code: "release_timestamp_stale" },
    });

    const otherShop = new ReleaseReceiver({ encryptionKey: generateShopKeys().encryption, retailerId: "shop.test", store: new MemoryStore() });
    expect(await otherShop.receive({ body: update!.body, headers: update!.headers })).toMatchObject({ status: 400, body: { code: "release_decrypt_failed" } });

    // A shop that lost the record of release 2 (restored from a backup taken before it) is sent it again: it is
    // not after the last sequence applied, so it is refused, not applied twice.
    store.releases.delete(String(update!.headers["webhook-id"]));
    expect(await post(update!.body, update!.headers)).toMatchObject({ status: 409, answer: { code: "release_out_of_order" } });
    store.releases.add(String(update!.headers["webhook-id"]));

    // A later release checked against another key than the grant's first release: refused.
    const held = store.grants.get(grantId)!;
    const key = held.publicKey;
    held.publicKey = `k4.public.${"A".repeat(43)}`;
    store.releases.delete(String(update!.headers["webhook-id"]));
    expect(await post(update!.body, update!.headers)).toMatchObject({ status: 401, answer: { code: "release_unknown_key" } });
    held.publicKey = key;
    store.releases.add(String(update!.headers["webhook-id"]));
  });

  it("delivers the revocation: onErase is told to erase, the data goes, and nothing more arrives", async () => {
    await w.ok(["grant", "revoke", grantId]);
    expect((await deliverNow()).delivered).toBe(1);
    const d = deliveries.at(-1)!;
    expect([d.status, d.answer.status]).toEqual([200, "accepted"]);
    expect(erased).toHaveLength(1);
    expect(erased[0]).toMatchObject({ grantId, event: "revoke", erase: true, ended: { by: "owner" } });
    const held = store.grants.get(grantId)!;
    expect([held.ended, held.values.size]).toEqual([true, 0]);
    const count = deliveries.length;
    await w.ok(["profile", "set", "contact.email", "ada@after.example"]);
    expect((await deliverNow()).delivered ?? 0).toBe(0);
    expect(deliveries.length).toBe(count);
  });
});
