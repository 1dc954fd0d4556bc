// A framework-neutral delivery handler: the reference server's rules (crates/retailer-server holdings.rs
// `receive`, server.rs `delivery_status`) over a store the shop provides.

import { decodeBody, MAX_RELEASE_BYTES, openRelease, peekRelease, ReleaseError, webhookHeaders, type HeaderBag } from "./release.js";
import type { PrivateJwk, Release } from "./types.js";

/** What the shop keeps about a grant between releases. */
export interface GrantRecord {
  /** The grant id. */
  grantId: string;
  /** The customer's pairwise subject id at this shop. */
  subject: string;
  /** The grant's key (PASERK `k4.public.…`) from its first release: it verifies every later one. */
  publicKey: string;
  /** The `state` its first release answered. */
  state: string;
  /** The highest sequence applied. */
  lastSequence: number;
  /** Whether it was revoked or expired (it then takes no more data). */
  ended: boolean;
}

/** Where a {@link ReleaseReceiver} keeps its records. Each method may return a value or a promise. */
export interface ReleaseStore {
  /** The grant, if a release of it was applied before. */
  getGrant(grantId: string): GrantRecord | undefined | Promise<GrantRecord | undefined>;
  /** Whether this release id was applied before (the answer is then `200 duplicate`). */
  hasRelease(releaseId: string): boolean | Promise<boolean>;
  /**
   * Binds `state` to `grantId` if it is a state the shop put in a request object it published (recorded when
   * it signed it), not bound to another grant and not from a request that expired more than 7 days ago; `true`
   * if it is now bound to `grantId` (also when it already was: a retried first release is accepted).
   */
  consumeState(state: string, grantId: string): boolean | Promise<boolean>;
  /**
   * In one transaction: saves `grant` (new or updated: `lastSequence`, `ended`), records `release.release_id`
   * and applies the release (`grant`/`update`: replace the grant's values with `fields`; `revoke`: delete
   * them; `expire`: delete them or keep them under the promised retention). A throw answers 503 and Locket
   * retries later.
   */
  applyRelease(release: Release, grant: GrantRecord): void | Promise<void>;
}

/** What {@link ReleaseReceiver} tells `onErase` when a grant ends. */
export interface GrantEnded {
  /** The grant. */
  grantId: string;
  /** The customer's pairwise subject id. */
  subject: string;
  /** `revoke` (the customer ended it) or `expire`. */
  event: "revoke" | "expire";
  /** The `ended` member: when, by whom, whether erasure is requested, the retention promised. */
  ended: NonNullable<Release["ended"]>;
  /** Whether the data must go now: every revoke, and an expire under the promise `until_grant_ends`. */
  erase: boolean;
}

/** Settings of a {@link ReleaseReceiver}. */
export interface ReleaseReceiverOptions {
  /** The shop's private encryption JWK. */
  encryptionKey: PrivateJwk | Record<string, unknown>;
  /** The shop's retailer id (its origin's host): a new grant for any other is refused. */
  retailerId: string;
  /** The shop's records. */
  store: ReleaseStore;
  /** Called for a `revoke` or `expire` before it is recorded; a throw answers 503 (Locket retries). */
  onErase?: (ended: GrantEnded) => void | Promise<void>;
  /** The clock in Unix seconds (default `Date.now()`). */
  now?: () => number;
}

/** An HTTP answer: send `body` as JSON with `status` and `Cache-Control: no-store`. */
export interface ReceiverAnswer {
  /** HTTP status. */
  status: number;
  /** `{status: "accepted"|"duplicate", release_id, sequence?}` or `{code, message}`. */
  body: Record<string, unknown>;
}

/** The codes a receiver adds to {@link ReleaseError}'s. */
export type ReceiverCode =
  | "release_state_unknown"
  | "release_retailer_mismatch"
  | "release_grant_unknown"
  | "release_out_of_order"
  | "release_grant_ended"
  | "holdings_storage_failed";

const STATUS: Record<string, number> = {
  release_too_large: 413,
  release_malformed: 400,
  release_decrypt_failed: 400,
  release_unknown_key: 401,
  release_invalid_signature: 401,
  release_timestamp_stale: 401,
  release_headers_invalid: 401,
  release_state_unknown: 403,
  release_retailer_mismatch: 403,
  release_grant_unknown: 409,
  release_out_of_order: 409,
  release_grant_ended: 410,
  holdings_storage_failed: 503,
};

class Refusal extends Error {
  constructor(readonly code: string, message: string, readonly status = STATUS[code] ?? 500) {
    super(message);
  }
}

/**
 * Receives deliveries at the shop's `delivery_url` with the reference server's rules, in its order: headers
 * (400), size (413); the grant's key chosen (a non-`grant` release of an unknown grant: 409
 * `release_grant_unknown`); {@link openRelease} (400/401); a release id seen before: 200 duplicate; a new grant
 * must be for this shop (403 `release_retailer_mismatch`) and carry a `state` the shop published (403
 * `release_state_unknown`); the sequence must grow (409 `release_out_of_order`); an ended grant takes no data
 * (410 `release_grant_ended`); then `onErase` (revoke, expire) and the store's `applyRelease`.
 *
 * Plug it into any framework: give it the raw body (not parsed JSON) and the headers, send back what it answers.
 */
export class ReleaseReceiver {
  readonly #o: ReleaseReceiverOptions;

  /** A receiver with these keys, retailer id and store. */
  constructor(options: ReleaseReceiverOptions) {
    this.#o = options;
  }

  /** Handles one delivery; never throws (a failing store is answered 503). */
  async receive(delivery: { body: string | Uint8Array; headers: HeaderBag }): Promise<ReceiverAnswer> {
    try {
      return await this.#receive(delivery);
    } catch (e) {
      if (e instanceof Refusal) return { status: e.status, body: { code: e.code, message: e.message } };
      if (e instanceof ReleaseError) {
        return { status: STATUS[e.code] ?? 400, body: { code: e.code, message: e.message } };
      }
      return {
        status: 503,
        body: { code: "holdings_storage_failed", message: "the shop could not store the release just now; send it again later" },
      };
    }
  }

  async #receive(delivery: { body: string | Uint8Array; headers: HeaderBag }): Promise<ReceiverAnswer> {
    const o = this.#o;
    let headers;
    try {
      headers = webhookHeaders(delivery.headers);
    } catch (e) {
      // A missing or malformed header is a bad request; the same code from `openRelease` is a 401.
      throw new Refusal("release_headers_invalid", (e as Error).message, 400);
    }
    const size = typeof delivery.body === "string" ? Buffer.byteLength(delivery.body) : delivery.body.length;
    if (size > MAX_RELEASE_BYTES) throw new Refusal("release_too_large", `the release is ${size} bytes; at most ${MAX_RELEASE_BYTES} are accepted`);
    const body = typeof delivery.body === "string" ? delivery.body : decodeBody(delivery.body);

    const peeked = await peekRelease(body, o.encryptionKey);
    const known = peeked ? await o.store.getGrant(peeked.grant_id) : undefined;
    if (peeked && !known && peeked.event !== "grant") {
      throw new Refusal("release_grant_unknown", `no grant ${peeked.grant_id} is known here, and a ${peeked.event} release cannot introduce one; nothing was stored`);
    }
    const now = Math.floor(o.now ? o.now() : Date.now() / 1000);
    const { release, publicKey } = await openRelease({ body, headers, encryptionKey: o.encryptionKey, grantKey: known?.publicKey, now });

    if (await o.store.hasRelease(release.release_id)) {
      return { status: 200, body: { status: "duplicate", release_id: release.release_id } };
    }
    if (release.retailer_id !== o.retailerId) {
      throw new Refusal("release_retailer_mismatch", `the release is for retailer ${JSON.stringify(release.retailer_id)}, not ${JSON.stringify(o.retailerId)}`);
    }
    let grant = await o.store.getGrant(release.grant_id);
    if (grant) {
      if (grant.publicKey !== publicKey) throw new ReleaseError("release_unknown_key", "the release is signed with another key than its grant's");
      if (grant.subject !== release.subject || grant.state !== release.state) {
        throw new ReleaseError("release_malformed", `release ${release.release_id} names another subject or state than its grant's first release`);
      }
    } else {
      if (release.event !== "grant") throw new Refusal("release_grant_unknown", `no grant ${release.grant_id} is known here`);
      if (!(await o.store.consumeState(release.state, release.grant_id))) {
        throw new Refusal(
          "release_state_unknown",
          `the grant release for ${release.grant_id} names a state this shop did not publish, one that expired, or one another grant already used; nothing was stored`,
        );
      }
      grant = { grantId: release.grant_id, subject: release.subject, publicKey, state: release.state, lastSequence: 0, ended: false };
    }
    if (release.sequence <= grant.lastSequence) {
      throw new Refusal("release_out_of_order", `release ${release.sequence} of grant ${release.grant_id} is not after the last one applied (${grant.lastSequence})`);
    }
    const carriesData = release.event === "grant" || release.event === "update";
    if (grant.ended && carriesData) throw new Refusal("release_grant_ended", `grant ${release.grant_id} has ended; it takes no more data`);
    if (!carriesData && release.ended && o.onErase) {
      await o.onErase({
        grantId: release.grant_id,
        subject: release.subject,
        event: release.event as "revoke" | "expire",
        ended: release.ended,
        erase: release.event === "revoke" || release.ended.retention.max_duration === "until_grant_ends",
      });
    }
    await o.store.applyRelease(release, { ...grant, lastSequence: release.sequence, ended: grant.ended || !carriesData });
    return { status: 200, body: { status: "accepted", release_id: release.release_id, sequence: release.sequence } };
  }
}

/** What a {@link MemoryStore} holds for a grant. */
export interface HeldGrant extends GrantRecord {
  /** The values held, by key. */
  values: Map<string, { value: unknown; version: number; scope: string; label: string }>;
  /** How it ended, if it did. */
  endedHow?: NonNullable<Release["ended"]>;
}

/** A {@link ReleaseStore} in memory, for tests and demos (everything is lost when the process ends). */
export class MemoryStore implements ReleaseStore {
  /** The grants, by id. */
  readonly grants = new Map<string, HeldGrant>();
  /** The release ids applied. */
  readonly releases = new Set<string>();
  readonly #states = new Map<string, { acceptUntil: number; grantId?: string }>();
  readonly #now: () => number;

  /** An empty store; `now` is its clock in Unix seconds (default `Date.now()`). */
  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? (() => Date.now() / 1000);
  }

  /** Records a published request's `state`; it is accepted until 7 days after `expiresAt` (Unix seconds). */
  recordState(state: string, expiresAt: number): void {
    this.#states.set(state, { acceptUntil: expiresAt + 7 * 24 * 3600 });
  }

  /** {@inheritDoc ReleaseStore.getGrant} */
  getGrant(grantId: string): GrantRecord | undefined {
    const g = this.grants.get(grantId);
    return g && { grantId: g.grantId, subject: g.subject, publicKey: g.publicKey, state: g.state, lastSequence: g.lastSequence, ended: g.ended };
  }

  /** {@inheritDoc ReleaseStore.hasRelease} */
  hasRelease(releaseId: string): boolean {
    return this.releases.has(releaseId);
  }

  /** {@inheritDoc ReleaseStore.consumeState} */
  consumeState(state: string, grantId: string): boolean {
    const s = this.#states.get(state);
    if (!s || s.acceptUntil < this.#now() || (s.grantId !== undefined && s.grantId !== grantId)) return false;
    s.grantId = grantId;
    return true;
  }

  /** {@inheritDoc ReleaseStore.applyRelease} */
  applyRelease(release: Release, grant: GrantRecord): void {
    const held: HeldGrant = this.grants.get(grant.grantId) ?? { ...grant, values: new Map() };
    Object.assign(held, grant);
    if (release.fields) {
      held.values = new Map(release.fields.map((f) => [f.key, { value: f.value, version: f.version, scope: f.scope, label: f.label }]));
    }
    if (release.ended) {
      held.endedHow = release.ended;
      if (release.event === "revoke" || release.ended.retention.max_duration === "until_grant_ends") held.values.clear();
    }
    this.grants.set(grant.grantId, held);
    this.releases.add(release.release_id);
  }
}
