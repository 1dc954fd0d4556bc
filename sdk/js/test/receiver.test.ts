import { describe, expect, it } from "vitest";
import { MemoryStore, publicJwk, ReleaseReceiver, type GrantEnded, type ReleaseStore } from "../src/index.js";
import { FakeLocket } from "./fake-locket.js";
import { readRepoJson } from "./repo.js";

const shop = readRepoJson("tests/golden/retailer-keys.test-only.json");
const sealed = readRepoJson("tests/golden/release.v1.sealed.json");
const golden = readRepoJson("tests/golden/release.v1.json");
const NOW = Number(sealed.headers["webhook-timestamp"]);

function setup(retailerId = "shop.example") {
  const store = new MemoryStore({ now: () => NOW });
  const erased: GrantEnded[] = [];
  const receiver = new ReleaseReceiver({
    encryptionKey: shop.encryption,
    retailerId,
    store,
    now: () => NOW,
    onErase: (e) => void erased.push(e),
  });
  return { store, receiver, erased };
}

describe("ReleaseReceiver", () => {
  it("accepts the golden delivery once, then answers duplicate", async () => {
    const { store, receiver } = setup();
    store.recordState(golden.state, NOW);
    const first = await receiver.receive(sealed);
    expect(first).toEqual({ status: 200, body: { status: "accepted", release_id: golden.release_id, sequence: 1 } });
    expect(store.grants.get(golden.grant_id)?.values.size).toBe(golden.fields.length);
    expect(await receiver.receive(sealed)).toEqual({ status: 200, body: { status: "duplicate", release_id: golden.release_id } });
  });

  it("refuses a first release whose state it did not publish, or that is for another shop", async () => {
    const { receiver } = setup();
    expect(await receiver.receive(sealed)).toMatchObject({ status: 403, body: { code: "release_state_unknown" } });
    const other = setup("other.example");
    other.store.recordState(golden.state, NOW);
    expect(await other.receiver.receive(sealed)).toMatchObject({ status: 403, body: { code: "release_retailer_mismatch" } });
  });

  it("answers Locket's refusals with the reference server's statuses", async () => {
    const { receiver } = setup();
    const { "webhook-id": _id, ...noId } = sealed.headers;
    expect(await receiver.receive({ body: sealed.body, headers: noId })).toMatchObject({ status: 400, body: { code: "release_headers_invalid" } });
    expect(await receiver.receive({ body: "A".repeat(1024 * 1024 + 1), headers: sealed.headers })).toMatchObject({ status: 413 });
    expect(await receiver.receive({ body: "not a jwe", headers: sealed.headers })).toMatchObject({ status: 400, body: { code: "release_malformed" } });
    const stale = { ...sealed.headers, "webhook-timestamp": String(NOW - 301) };
    expect(await receiver.receive({ body: sealed.body, headers: stale })).toMatchObject({ status: 401, body: { code: "release_timestamp_stale" } });
  });

  it("follows a grant through update, revoke and refuses what comes out of order or after the end", async () => {
    const locket = new FakeLocket();
    const { store, receiver, erased } = setup();
    const enc = publicJwk(shop.encryption);
    const send = async (r: ReturnType<FakeLocket["release"]>) => receiver.receive(await locket.seal(r, enc, NOW));
    store.recordState("golden-state-0123456789", NOW);

    // An update for a grant it does not know yet cannot introduce the grant.
    expect(await send(locket.release("update", 2))).toMatchObject({ status: 409, body: { code: "release_grant_unknown" } });
    expect(await send(locket.release("grant", 1))).toMatchObject({ status: 200, body: { status: "accepted", sequence: 1 } });
    expect(await send(locket.release("update", 3))).toMatchObject({ status: 200, body: { sequence: 3 } });
    expect(store.grants.get(locket.grantFile.grant_id)?.values.get("contact.email")?.value).toBe("ada3@example.org");
    expect(await send(locket.release("update", 2))).toMatchObject({ status: 409, body: { code: "release_out_of_order" } });
    // Signed by another grant key for the same grant: refused.
    const impostor = new FakeLocket();
    expect(await receiver.receive(await impostor.seal(impostor.release("update", 4), enc, NOW))).toMatchObject({
      status: 401,
      body: { code: "release_unknown_key" },
    });
    expect(await send(locket.release("revoke", 5))).toMatchObject({ status: 200, body: { sequence: 5 } });
    expect(erased).toHaveLength(1);
    expect(erased[0]).toMatchObject({ grantId: locket.grantFile.grant_id, event: "revoke", erase: true });
    expect(store.grants.get(locket.grantFile.grant_id)?.values.size).toBe(0);
    expect(await send(locket.release("update", 6))).toMatchObject({ status: 410, body: { code: "release_grant_ended" } });
    expect(await send(locket.release("expire", 7))).toMatchObject({ status: 200 });
  });

  it("a state binds one grant; a store that fails answers 503 and the retry is accepted", async () => {
    const locket = new FakeLocket();
    const store = new MemoryStore({ now: () => NOW });
    let fail = true;
    const flaky: ReleaseStore = {
      getGrant: (id) => store.getGrant(id),
      hasRelease: (id) => store.hasRelease(id),
      consumeState: (state, grantId) => store.consumeState(state, grantId),
      applyRelease: (r, g) => {
        if (fail) throw new Error("disk full");
        store.applyRelease(r, g);
      },
    };
    const receiver = new ReleaseReceiver({ encryptionKey: shop.encryption, retailerId: "shop.example", store: flaky, now: () => NOW });
    store.recordState("golden-state-0123456789", NOW);
    const delivery = await locket.seal(locket.release("grant", 1), publicJwk(shop.encryption), NOW);
    expect(await receiver.receive(delivery)).toMatchObject({ status: 503, body: { code: "holdings_storage_failed" } });
    fail = false;
    expect(await receiver.receive(delivery)).toMatchObject({ status: 200, body: { status: "accepted" } });
    // The state is now bound to that grant: another grant answering it is refused; an expired one too.
    expect(store.consumeState("golden-state-0123456789", locket.grantFile.grant_id)).toBe(true);
    expect(store.consumeState("golden-state-0123456789", "gr_" + "f".repeat(32))).toBe(false);
    store.recordState("old-state-0123456789", NOW - 7 * 24 * 3600 - 1);
    expect(store.consumeState("old-state-0123456789", "gr_" + "e".repeat(32))).toBe(false);
  });
});
