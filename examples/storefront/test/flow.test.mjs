// The real flow on loopback over HTTPS, with the shipped binaries: a visitor opens the shop, the owner's Locket
// connects to the share link, approves and delivers; the page greets them in their size; an edit in Locket
// changes it; a forged delivery is refused and changes nothing; the shop restarts and remembers; a revocation
// erases. A second visitor sees none of it.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { forgedDelivery } from "./forge.mjs";
import { eventually, makeWorld, missingBinaries, owner, startShop, visitor } from "./world.mjs";

// Without the binaries the real flow cannot run: that is a failure to see, not a silent skip.
test("the Locket binaries are built", () => assert.equal(missingBinaries(), undefined));

describe("a visitor shares from Locket, updates, and stops sharing", { skip: missingBinaries() }, () => {
  let world, shop, ada, locket, link, grantId, grantFile;

  before(async () => {
    world = makeWorld();
    shop = await startShop(world);
    ada = visitor(world, shop);
    locket = owner(world);
    locket.ok(["init"]);
    locket.ok(["profile", "set", "identity.preferred_name", "Ada"]);
    locket.ok(["profile", "set", "sizes.clothing", "M"]);
    locket.ok(["profile", "set", "style.styles", "classic,outdoor"]);
  });
  after(async () => {
    await shop?.stop();
    world?.cleanup();
  });

  test("the shop prints one ready line, keeps its keys and records private, and serves its metadata", async () => {
    assert.equal(shop.stdout.length, 1);
    assert.equal(statSync(join(shop.data, "shop-keys.json")).mode & 0o777, 0o600);
    const r = await ada.fetch("/.well-known/locket-retailer.json");
    assert.equal(r.status, 200);
    const m = r.json();
    assert.equal(m.id, shop.origin);
    assert.equal(m.delivery_url, `${shop.origin}/locket/deliveries`);
    assert.equal(m.privacy_policy, `${shop.origin}/privacy`);
    assert.equal((await ada.fetch("/privacy")).status, 200);
  });

  test("a first visit: a session cookie, strict headers, generic products and a one-time share link", async () => {
    const r = await ada.fetch("/");
    assert.equal(r.status, 200);
    const cookie = ada.cookies.find((c) => c.startsWith("sid="));
    assert.match(cookie, /^sid=[A-Za-z0-9_-]{43}; /);
    for (const attr of ["HttpOnly", "Secure", "SameSite=Lax"]) assert.ok(cookie.split("; ").includes(attr), cookie);
    assert.match(r.headers["content-security-policy"], /script-src 'self';/);
    assert.doesNotMatch(r.headers["content-security-policy"], /unsafe-inline/);
    assert.equal(r.headers["x-content-type-options"], "nosniff");
    assert.doesNotMatch(r.text, /<script>|<style|style="/, "no inline script or style");
    assert.match(r.text, /<figure class="share-qr"[^>]*><svg [^>]*role="img"/, "the share link as a QR code");
    assert.doesNotMatch(r.text, /id="greeting"/);
    assert.doesNotMatch(r.text, /data-size=/);
    link = /<a id="share-with-locket"[^>]* href="(locket:\/\/connect\?request_uri=[^"]+)"/.exec(r.text)?.[1];
    assert.ok(link, "the share link is on the page");
    assert.deepEqual(await ada.me(), { status: "none" });
    // The same session sees the same open request until it is used.
    const again = await ada.fetch("/");
    assert.ok(again.text.includes(link.replace(/&/g, "&amp;")));
  });

  test("Locket connects, the owner approves, the delivery arrives: the page greets Ada in her size", async () => {
    const req = locket.ok(["requests", "connect", link]);
    assert.equal(req.request.retailer.name, "Northwind Outfitters");
    assert.deepEqual(req.request.scopes.map((s) => [s.scope, s.purpose]), [
      ["identity.preferred_name", "account_management"],
      ["sizes.clothing", "personalised_recommendations"],
      ["style.styles", "personalised_recommendations"],
    ]);
    // Served once.
    const uri = decodeURIComponent(link.split("request_uri=")[1]);
    assert.equal((await ada.fetch(new URL(uri).pathname)).status, 404);

    grantFile = join(world.dir, "grant.json");
    grantId = locket.ok(["grant", "approve", req.id, "--out", grantFile]).grant.id;
    assert.equal(locket.ok(["deliveries", "send"]).delivered, 1);

    const me = await ada.me();
    assert.equal(me.status, "shared");
    assert.equal(me.name, "Ada");
    assert.equal(me.size, "M");
    assert.deepEqual(me.styles, ["classic", "outdoor"]);
    assert.ok(me.since && me.updated);

    const page = (await ada.fetch("/")).text;
    assert.match(page, /<h2 id="greeting">Welcome back, Ada<\/h2>/);
    assert.match(page, /<span id="your-size">M<\/span>/);
    assert.doesNotMatch(page, /id="share-with-locket"/);
    const articles = [...page.matchAll(/<article class="product( is-match)?" data-product="([^"]+)" data-size="([^"]+)">/g)];
    assert.equal(articles.length, 8);
    assert.ok(articles.every((a) => a[3] === "M"));
    const matched = articles.map((a) => Boolean(a[1]));
    assert.ok(matched[0] && matched.indexOf(false) > 0 && !matched.slice(matched.indexOf(false)).includes(true), "matches first");
    assert.equal((page.match(/Matches your style/g) ?? []).length, matched.filter(Boolean).length);
    assert.ok(shop.log.some((l) => l.startsWith(`delivery event=grant grant=${grantId} status=200 accepted`)), shop.log.join("\n"));
    assert.ok(!shop.log.join("\n").includes("Ada"), "values never reach the log");
  });

  test("a second visitor sees nothing of the first", async () => {
    const bob = visitor(world, shop);
    const page = (await bob.fetch("/")).text;
    assert.deepEqual(await bob.me(), { status: "none" });
    assert.doesNotMatch(page, /Ada|id="greeting"|id="your-size"/);
    const bobLink = /id="share-with-locket"[^>]* href="([^"]+)"/.exec(page)?.[1];
    assert.ok(bobLink && bobLink !== link);
    const holdings = (await bob.fetch("/holdings")).text;
    assert.doesNotMatch(holdings, /Ada|gr_/);
    // A session id the shop did not make is replaced, not adopted.
    const mallory = visitor(world, shop);
    mallory.jar.set("sid", ada.jar.get("sid").replace(/.$/, (c) => (c === "A" ? "B" : "A")));
    assert.deepEqual(await mallory.me(), { status: "none" });
  });

  test("an edit in Locket reaches the page as an update: size L", async () => {
    locket.ok(["profile", "set", "sizes.clothing", "L"]);
    assert.equal(locket.deliverNow().delivered, 1);
    const me = await eventually(async () => ((await ada.me()).size === "L" ? ada.me() : undefined));
    assert.equal(me?.size, "L");
    assert.equal(me.name, "Ada");
    const page = (await ada.fetch("/")).text;
    assert.match(page, /<span id="your-size">L<\/span>/);
    assert.doesNotMatch(page, /data-size="M"/);
    const holdings = (await ada.fetch("/holdings")).text;
    assert.match(holdings, /<tr data-field="sizes.clothing"><th scope="row">Clothing size<\/th><td class="value">L<\/td><td>2<\/td>/);
    assert.match(holdings, /data-event="grant"/);
    assert.match(holdings, /data-event="update"/);
  });

  test("a forged or garbled delivery is refused with the SDK's code and changes nothing", async () => {
    const records = readFileSync(join(shop.data, "storefront.json"));
    const before = await ada.me();
    const metadata = (await ada.fetch("/.well-known/locket-retailer.json")).json();
    const grant = JSON.parse(readFileSync(grantFile, "utf8"));
    const release = {
      format: "locket.release/v1",
      event: "update",
      release_id: `rel_${randomBytes(16).toString("hex")}`,
      grant_id: grantId,
      sequence: 99,
      subject: grant.subject,
      retailer_id: "shop.test",
      state: "x".repeat(22),
      issued_at: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      fields: [{ key: "sizes.clothing", label: "Clothing size", version: 9, value: "XXL", scope: "sizes.clothing" }],
    };
    const forged = forgedDelivery(metadata, release, grant.key_id);
    const r = await ada.fetch("/locket/deliveries", { method: "POST", body: forged.body, headers: forged.headers });
    assert.equal(r.status, 401, r.text);
    assert.equal(r.json().code, "release_invalid_signature");
    assert.equal(r.headers["cache-control"], "no-store");

    const garbled = await ada.fetch("/locket/deliveries", {
      method: "POST",
      body: "eyJhbGciOiJFQ0RILUVTIn0..AAAA.AAAA.AAAA",
      headers: { "webhook-id": release.release_id, "webhook-timestamp": String(Math.floor(Date.now() / 1000)), "webhook-signature": "v1a,AAAA" },
    });
    assert.equal(garbled.status, 400, garbled.text);
    assert.match(garbled.json().code, /^release_(malformed|decrypt_failed)$/);

    const noHeaders = await ada.fetch("/locket/deliveries", { method: "POST", body: "x" });
    assert.equal(noHeaders.status, 400);
    assert.equal(noHeaders.json().code, "release_headers_invalid");

    const tooBig = await ada.fetch("/locket/deliveries", { method: "POST", body: Buffer.alloc(1024 * 1024 + 10, 65), headers: forged.headers });
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.json().code, "release_too_large");

    assert.equal((await ada.fetch("/locket/deliveries")).status, 405);
    assert.deepEqual(await ada.me(), before);
    assert.deepEqual(readFileSync(join(shop.data, "storefront.json")), records, "the records did not change");
    assert.ok(shop.log.some((l) => l.includes("status=401 release_invalid_signature")));
  });

  test("a restart keeps what the shop holds, and the visitor's session", async () => {
    const before = await ada.me();
    assert.equal(await shop.stop(), 0, "SIGTERM stops it cleanly");
    shop = await startShop(world, { port: shop.port }); // the same origin: Locket pinned it
    const sid = ada.jar.get("sid");
    ada = visitor(world, shop);
    ada.jar.set("sid", sid);
    assert.deepEqual(await ada.me(), before);
    assert.match((await ada.fetch("/")).text, /<span id="your-size">L<\/span>/);
  });

  test("a revocation erases: no greeting, no size, and the holdings page shows no values", async () => {
    locket.ok(["grant", "revoke", grantId]);
    assert.equal(locket.deliverNow().delivered, 1);
    const me = await ada.me();
    assert.equal(me.status, "erased");
    assert.ok(me.erased_at);
    assert.equal(me.name, undefined);
    const page = (await ada.fetch("/")).text;
    assert.match(page, /<p id="erased"[^>]*>[^<]*you stopped sharing on \d{1,2} \w+ \d{4}; we erased what you shared\.<\/p>/);
    assert.doesNotMatch(page, /id="greeting"|id="your-size"|data-size=|Ada/);
    assert.match(page, /id="share-with-locket"/, "they may share again");
    const holdings = (await ada.fetch("/holdings")).text;
    assert.doesNotMatch(holdings, /Ada|class="value"/);
    assert.match(holdings, /we erased what this grant gave us: Preferred name, Clothing size, Styles you like/);
    assert.match(holdings, /data-event="revoke"/);
    assert.match(holdings, /data-event="revoke"[\s\S]*data-event="erased"/, "revoke, then what was erased");
    const records = readFileSync(join(shop.data, "storefront.json"), "utf8");
    assert.doesNotMatch(records, /"Ada"|"classic"/, "the records on disk hold no values either");
    assert.ok(shop.log.some((l) => l.startsWith(`delivery event=revoke grant=${grantId} status=200 accepted`)));
  });
});
