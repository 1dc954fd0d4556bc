// The shop's records in one JSON file: visitors' sessions, the request objects and states it published, and what
// each grant delivered. It is the SDK's `ReleaseStore` (getGrant, hasRelease, consumeState, applyRelease) with
// the rules of its MemoryStore, made durable: every change is a transaction on a copy of the records, written to
// a temporary file, flushed and renamed over the old one; only then does the change count. A crash leaves the
// old file or the new one, never half of one.

import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { stylesOf } from "./catalog.mjs";

/** How long after its request expires a `state` may still start a grant (the SDK's MemoryStore: 7 days). */
const STATE_GRACE_SECONDS = 7 * 24 * 3600;
/** Sessions that never shared anything are forgotten after this long. */
const IDLE_SESSION_SECONDS = 30 * 24 * 3600;

const empty = () => ({ format: "northwind.storefront/v1", sessions: {}, requests: {}, states: {}, grants: {}, releases: {} });

/** Writes `text` to `file` atomically: a temporary file beside it (0600), fsync, rename, fsync of the folder. */
export function writeFileAtomic(file, text) {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  try {
    const dir = openSync(dirname(file), "r");
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Some file systems cannot fsync a folder; the rename is still atomic.
  }
}

/** The shop's durable records. */
export class FileStore {
  #file;
  #data;
  #now;

  /**
   * Opens (or starts) the records in `dir`/storefront.json. `now` is the clock in Unix seconds (tests set it).
   */
  constructor(dir, { now } = {}) {
    this.#file = join(dir, "storefront.json");
    this.#now = now ?? (() => Date.now() / 1000);
    this.#data = existsSync(this.#file) ? JSON.parse(readFileSync(this.#file, "utf8")) : empty();
    if (this.#data.format !== "northwind.storefront/v1") throw new Error(`${this.#file} is not this shop's records`);
  }

  #iso() {
    return new Date(this.#now() * 1000).toISOString();
  }

  /** Runs `change` on a copy of the records and makes it durable; on any error nothing changed. */
  #transaction(change) {
    const next = structuredClone(this.#data);
    const result = change(next);
    writeFileAtomic(this.#file, JSON.stringify(next));
    this.#data = next;
    return result;
  }

  // ---- ReleaseStore (see sdk/js/src/receiver.ts) ----------------------------------------------------------

  /** {@inheritDoc ReleaseStore.getGrant} */
  getGrant(grantId) {
    const g = this.#data.grants[grantId];
    return g ? { ...g.record } : undefined;
  }

  /** {@inheritDoc ReleaseStore.hasRelease} */
  hasRelease(releaseId) {
    return Object.hasOwn(this.#data.releases, releaseId);
  }

  /** {@inheritDoc ReleaseStore.consumeState} */
  consumeState(state, grantId) {
    const s = this.#data.states[state];
    if (!s || s.acceptUntil < this.#now() || (s.grantId && s.grantId !== grantId)) return false;
    if (s.grantId === grantId) return true;
    this.#transaction((d) => {
      d.states[state].grantId = grantId;
    });
    return true;
  }

  /** {@inheritDoc ReleaseStore.applyRelease} */
  applyRelease(release, grant) {
    this.#transaction((d) => {
      const at = this.#iso();
      let g = d.grants[grant.grantId];
      if (!g) {
        g = {
          sid: d.states[release.state]?.sid ?? null,
          received_at: at,
          expires_at: release.grant?.expires_at ?? null,
          values: {},
          history: [],
        };
        d.grants[grant.grantId] = g;
      }
      g.record = { ...grant };
      g.updated_at = at;
      if (release.fields) {
        const values = {};
        for (const f of release.fields) {
          const before = g.values[f.key];
          const receivedAt = before && before.version === f.version ? before.received_at : at;
          values[f.key] = { label: f.label, value: f.value, version: f.version, scope: f.scope, received_at: receivedAt };
        }
        g.values = values;
      }
      if (release.ended) {
        g.ended = { event: release.event, at: release.ended.at, by: release.ended.by, received_at: at };
        if (release.event === "revoke" || release.ended.retention?.max_duration === "until_grant_ends") {
          if (Object.keys(g.values).length) g.erased = { at, labels: labelsOf(g.values) };
          g.values = {};
        }
      }
      // onErase ran first and noted the erasure; the history reads "revoke, then erased".
      const erasedNote = release.ended && g.history.at(-1)?.event === "erased" ? g.history.pop() : undefined;
      g.history.push({
        event: release.event,
        sequence: release.sequence,
        release_id: release.release_id,
        at,
        fields: release.fields?.map((f) => ({ key: f.key, label: f.label, version: f.version })),
        ended_at: release.ended?.at,
      });
      if (erasedNote) g.history.push(erasedNote);
      d.releases[release.release_id] = { grant_id: grant.grantId, event: release.event, at };
    });
  }

  // ---- The shop's own records -----------------------------------------------------------------------------

  /** Erases what a grant delivered (the receiver's `onErase`) and notes it in the grant's history. */
  erase({ grantId, event }) {
    const g = this.#data.grants[grantId];
    if (!g || (g.erased && !Object.keys(g.values).length)) return;
    this.#transaction((d) => {
      const held = d.grants[grantId];
      const at = this.#iso();
      held.erased = { at, labels: labelsOf(held.values), because: event };
      held.values = {};
      held.history.push({ event: "erased", at, labels: held.erased.labels });
    });
  }

  /** Whether `sid` is a session this shop started. */
  hasSession(sid) {
    return typeof sid === "string" && Object.hasOwn(this.#data.sessions, sid);
  }

  /** Records a new session. */
  addSession(sid) {
    this.#transaction((d) => {
      d.sessions[sid] = { created_at: this.#iso() };
      prune(d, this.#now());
    });
  }

  /** The session's request object still worth showing (not served, not about to expire), if any. */
  openRequest(sid) {
    const now = this.#now();
    return Object.entries(this.#data.requests)
      .map(([id, r]) => ({ id, ...r }))
      .find((r) => r.sid === sid && !r.served && r.expiresAt - now > 60);
  }

  /** Records a signed request object for `sid`: served once at its id, its `state` accepted for a first release. */
  addRequest(sid, { id, jws, state, expiresAt }) {
    this.#transaction((d) => {
      d.requests[id] = { sid, jws, state, expiresAt, served: false };
      d.states[state] = { sid, acceptUntil: expiresAt + STATE_GRACE_SECONDS, grantId: null };
      prune(d, this.#now());
    });
  }

  /** The request object at `id`, once: it is then marked served (and its text dropped). */
  takeRequest(id) {
    const r = this.#data.requests[id];
    if (!r || r.served || r.expiresAt < this.#now()) return undefined;
    this.#transaction((d) => {
      d.requests[id].served = true;
      d.requests[id].jws = null;
    });
    return r.jws;
  }

  /** The grants that answered this session's requests, newest first. */
  grantsOf(sid) {
    return Object.entries(this.#data.grants)
      .filter(([, g]) => g.sid === sid)
      .map(([grantId, g]) => ({ grantId, ...structuredClone(g) }))
      .reverse();
  }

  /** What the page shows this session (`GET /api/me`). */
  view(sid) {
    const g = this.grantsOf(sid)[0];
    if (!g) return { status: "none" };
    if (g.erased || g.ended) {
      return { status: "erased", erased_at: g.erased?.at ?? g.ended.received_at };
    }
    const value = (key) => g.values[key]?.value;
    const name = value("identity.preferred_name");
    const size = value("sizes.clothing");
    const styles = value("style.styles");
    return {
      status: "shared",
      name: typeof name === "string" ? name : undefined,
      size: typeof size === "string" ? size : undefined,
      styles: styles === undefined ? undefined : stylesOf(styles),
      since: g.received_at,
      updated: g.updated_at,
    };
  }
}

function labelsOf(values) {
  return Object.values(values).map((v) => v.label);
}

/** Drops request objects long expired, states no grant can use any more, and idle sessions. */
function prune(d, now) {
  for (const [id, r] of Object.entries(d.requests)) if (r.expiresAt < now - 3600) delete d.requests[id];
  for (const [s, st] of Object.entries(d.states)) if (!st.grantId && st.acceptUntil < now) delete d.states[s];
  const active = new Set([...Object.values(d.states).map((s) => s.sid), ...Object.values(d.grants).map((g) => g.sid)]);
  for (const [sid, s] of Object.entries(d.sessions)) {
    if (!active.has(sid) && Date.parse(s.created_at) / 1000 < now - IDLE_SESSION_SECONDS) delete d.sessions[sid];
  }
}
