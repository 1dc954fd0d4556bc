// Small unit tests: the personalised order, HTML escaping of delivered values, and the store's rules.

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { personalise, PRODUCTS, stylesOf } from "../lib/catalog.mjs";
import { escapeHtml, holdingsPage, productPage, valueText } from "../lib/html.mjs";
import { FileStore } from "../lib/store.mjs";

test("without shared data the catalogue keeps the shop's order, unmarked and without a size", () => {
  const shown = personalise(PRODUCTS);
  assert.deepEqual(shown.map((p) => p.id), PRODUCTS.map((p) => p.id));
  assert.ok(shown.every((p) => !p.matches && p.size === undefined));
});

test("liked styles come first, each group in the shop's order, every product in the given size", () => {
  const shown = personalise(PRODUCTS, { size: "L", styles: ["outdoor", "bohemian"] });
  const matching = PRODUCTS.filter((p) => p.styles.includes("outdoor") || p.styles.includes("bohemian")).map((p) => p.id);
  assert.deepEqual(shown.slice(0, matching.length).map((p) => p.id), matching);
  assert.ok(shown.slice(0, matching.length).every((p) => p.matches));
  assert.ok(shown.slice(matching.length).every((p) => !p.matches));
  assert.deepEqual(shown.slice(matching.length).map((p) => p.id), PRODUCTS.filter((p) => !matching.includes(p.id)).map((p) => p.id));
  assert.ok(shown.every((p) => p.size === "L"));
});

test("styles: a list or comma-separated text, known keys only, once each", () => {
  assert.deepEqual(stylesOf(["Classic", "classic", "gothic", " outdoor "]), ["classic", "outdoor"]);
  assert.deepEqual(stylesOf("casual,sporty"), ["casual", "sporty"]);
  assert.deepEqual(stylesOf(undefined), []);
  assert.deepEqual(stylesOf({ toString: () => "classic" }), []);
  assert.deepEqual(stylesOf(["__proto__", "constructor"]), []);
});

test("escapeHtml covers text and quoted attributes", () => {
  assert.equal(escapeHtml(`<img src=x onerror="a('b')">&`), "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;");
  assert.equal(escapeHtml(undefined), "");
  assert.equal(valueText(["a", "b"]), "a, b");
});

test("a hostile name and size are rendered as text, in content and in attributes", () => {
  const evil = `<script>alert(1)</script>" data-x="`;
  const html = productPage({ me: { status: "shared", name: evil, size: `M"><b>`, styles: ["classic"], since: "2026-01-01T00:00:00Z" } });
  assert.ok(!html.includes("<script>"));
  assert.ok(!html.includes('M"><b>'));
  assert.match(html, /<h2 id="greeting">Welcome back, &lt;script&gt;alert\(1\)&lt;\/script&gt;&quot; data-x=&quot;<\/h2>/);
  assert.match(html, /data-size="M&quot;&gt;&lt;b&gt;"/);
  const holdings = holdingsPage({
    grants: [{ grantId: "gr_1", received_at: "2026-01-01T00:00:00Z", values: { "identity.preferred_name": { label: "<i>Name</i>", value: evil, version: 1, received_at: "2026-01-01T00:00:00Z" } }, history: [] }],
  });
  assert.ok(!holdings.includes("<script>") && !holdings.includes("<i>"));
});

test("the store: a state binds to one grant, survives a reopen, and the file is 0600 with no temporaries left", () => {
  const dir = mkdtempSync(join(tmpdir(), "storefront-unit-"));
  try {
    let now = 1_800_000_000;
    const store = new FileStore(dir, { now: () => now });
    store.addSession("s".repeat(43));
    store.addRequest("s".repeat(43), { id: "r".repeat(22), jws: "a.b.c", state: "state-one-0123456789", expiresAt: now + 600 });
    assert.equal(store.consumeState("unknown-state-0123456", "gr_a"), false);
    assert.equal(store.consumeState("state-one-0123456789", "gr_a"), true);
    assert.equal(store.consumeState("state-one-0123456789", "gr_a"), true, "a retried first release");
    assert.equal(store.consumeState("state-one-0123456789", "gr_b"), false, "bound to another grant");
    assert.equal(store.takeRequest("r".repeat(22)), "a.b.c");
    assert.equal(store.takeRequest("r".repeat(22)), undefined, "served once");

    const reopened = new FileStore(dir, { now: () => now });
    assert.equal(reopened.consumeState("state-one-0123456789", "gr_b"), false);
    assert.ok(reopened.hasSession("s".repeat(43)));
    assert.equal(statSync(join(dir, "storefront.json")).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ["storefront.json"]);

    reopened.addRequest("s".repeat(43), { id: "q".repeat(22), jws: "d.e.f", state: "state-two-0123456789", expiresAt: now + 600 });
    now += 600 + 7 * 24 * 3600 + 1;
    assert.equal(reopened.consumeState("state-two-0123456789", "gr_c"), false, "expired more than 7 days ago");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
