// The shop's HTTP handler: its pages, its Locket endpoints (metadata, request objects, deliveries) and the
// visitor's view as JSON. Everything Locket-specific is a call into @locket/retailer; the rest is node:http.

import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  connectLink,
  generateShopKeys,
  MAX_RELEASE_BYTES,
  ReleaseReceiver,
  shopMetadata,
  signRequestObject,
  WELL_KNOWN_PATH,
} from "@locket/retailer";
import { errorPage, holdingsPage, layout, privacyPage, productPage } from "./html.mjs";
import { grantRequest } from "./request.mjs";
import { FileStore } from "./store.mjs";

/** The Content-Security-Policy of every answer: own scripts and styles only, nothing inline, no framing. */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const SECURITY_HEADERS = {
  "content-security-policy": CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** How long a request object is valid (the SDK allows up to an hour; minutes is better). */
const REQUEST_TTL_SECONDS = 600;
const SID = /^[A-Za-z0-9_-]{43}$/;
const REQUEST_ID = /^[A-Za-z0-9_-]{22}$/;

const PUBLIC = new URL("../public/", import.meta.url);
const STATIC = {
  "/app.js": ["app.js", "text/javascript; charset=utf-8"],
  "/style.css": ["style.css", "text/css; charset=utf-8"],
  "/favicon.svg": ["favicon.svg", "image/svg+xml"],
};

/** The shop's keys from `dir`/shop-keys.json, made there (0600) on first start. */
export function loadOrCreateKeys(dir) {
  const file = join(dir, "shop-keys.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8"));
  const keys = generateShopKeys();
  writeFileSync(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  chmodSync(file, 0o600);
  return keys;
}

/** `https://host` plus `:port` unless it is 443. */
export function originFor(host, port) {
  return port === 443 ? `https://${host}` : `https://${host}:${port}`;
}

/**
 * The request body, read up to just past `cap` bytes: `over` when it is longer (the rest is left unread and the
 * connection is closed after the answer, so a huge body costs the shop at most `cap` bytes of memory).
 */
function readCapped(req, cap) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    const onData = (chunk) => {
      size += chunk.length;
      chunks.push(chunk);
      if (size > cap) {
        req.off("data", onData);
        req.pause();
        resolve({ body: Buffer.concat(chunks), over: true });
      }
    };
    req.on("data", onData);
    req.on("end", () => resolve({ body: Buffer.concat(chunks), over: false }));
    req.on("error", reject);
  });
}

function cookieOf(req, name) {
  for (const part of String(req.headers.cookie ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return undefined;
}

/**
 * The storefront for `host` keeping its keys and records in `dir`. Call `bind(port)` once the port is known
 * (it fixes the origin), then hand `handle` to an HTTPS server.
 */
export function createStorefront({ dir, host, name, log = (line) => process.stderr.write(`${line}\n`) }) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = loadOrCreateKeys(dir);
  const store = new FileStore(dir);
  const files = Object.fromEntries(
    Object.entries(STATIC).map(([path, [file, type]]) => [path, { body: readFileSync(new URL(file, PUBLIC)), type }]),
  );
  const delivery = new AsyncLocalStorage();
  let origin, metadata, receiver, shop;

  // The receiver's view of the store, noting which grant a delivery concerns for the log line.
  const logged = {
    getGrant: (id) => {
      const ctx = delivery.getStore();
      if (ctx) ctx.grant ??= id;
      return store.getGrant(id);
    },
    hasRelease: (id) => store.hasRelease(id),
    consumeState: (state, grantId) => store.consumeState(state, grantId),
    applyRelease: (release, grant) => {
      const ctx = delivery.getStore();
      if (ctx) Object.assign(ctx, { event: release.event, grant: release.grant_id });
      return store.applyRelease(release, grant);
    },
  };

  function bind(port) {
    origin = originFor(host, port);
    shop = { name, contact: `privacy@${host}` };
    metadata = shopMetadata(
      { origin, name, contact: shop.contact, privacyPolicy: `${origin}/privacy`, deliveryUrl: `${origin}/locket/deliveries` },
      keys,
    );
    receiver = new ReleaseReceiver({
      encryptionKey: keys.encryption,
      retailerId: host,
      store: logged,
      onErase: (ended) => {
        if (ended.erase) store.erase(ended);
      },
    });
    return origin;
  }

  function send(res, status, body, headers = {}) {
    res.writeHead(status, { ...SECURITY_HEADERS, "cache-control": "no-store", ...headers });
    res.end(body);
  }
  const json = (res, status, value, headers) =>
    send(res, status, JSON.stringify(value), { "content-type": "application/json", ...headers });
  const html = (res, status, text, headers) => send(res, status, text, { "content-type": "text/html; charset=utf-8", ...headers });

  /** The visitor's session id; a new one (and its cookie) when they have none this shop made. */
  function session(req, headers) {
    const sid = cookieOf(req, "sid");
    if (sid && SID.test(sid) && store.hasSession(sid)) return sid;
    const fresh = randomBytes(32).toString("base64url");
    store.addSession(fresh);
    headers["set-cookie"] = `sid=${fresh}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=${30 * 24 * 3600}`;
    return fresh;
  }

  /** The session's one-time share link: its open request object, or a new one signed now. */
  async function shareLink(sid) {
    let open = store.openRequest(sid);
    if (!open) {
      const id = randomBytes(16).toString("base64url");
      const signed = await signRequestObject(
        { request: grantRequest(metadata), requestUri: `${origin}/locket/requests/${id}`, ttlSeconds: REQUEST_TTL_SECONDS },
        keys.signing,
      );
      store.addRequest(sid, { id, jws: signed.jws, state: signed.state, expiresAt: signed.expiresAt });
      open = { id };
    }
    return connectLink(`${origin}/locket/requests/${open.id}`);
  }

  async function receive(req, res) {
    const { body, over } = await readCapped(req, MAX_RELEASE_BYTES);
    const ctx = { release: String(req.headers["webhook-id"] ?? "-").slice(0, 80) };
    const answer = await delivery.run(ctx, () => receiver.receive({ body, headers: req.headers }));
    const outcome = answer.body.status ?? answer.body.code;
    log(`delivery event=${ctx.event ?? "-"} grant=${ctx.grant ?? "-"} status=${answer.status} ${outcome} release=${ctx.release.replace(/[^\x21-\x7e]/g, "?")}`);
    json(res, answer.status, answer.body, over ? { connection: "close" } : {});
  }

  const routes = {
    "/": {
      GET: async (req, res) => {
        const headers = {};
        const sid = session(req, headers);
        const me = store.view(sid);
        const link = me.status === "shared" ? undefined : await shareLink(sid);
        const endedAt = me.status === "erased" ? store.grantsOf(sid)[0]?.ended?.at : undefined;
        html(res, 200, layout({ shop, title: "Shop", content: productPage({ me, link, endedAt }), me, active: "shop" }), headers);
      },
    },
    "/holdings": {
      GET: (req, res) => {
        const headers = {};
        const sid = session(req, headers);
        const me = store.view(sid);
        const content = holdingsPage({ grants: store.grantsOf(sid) });
        html(res, 200, layout({ shop, title: "What we hold about you", content, me, active: "holdings" }), headers);
      },
    },
    "/privacy": {
      GET: (req, res) => html(res, 200, layout({ shop, title: "Privacy", content: privacyPage({ shop }), me: null, active: "privacy" })),
    },
    "/api/me": {
      GET: (req, res) => {
        const headers = {};
        json(res, 200, store.view(session(req, headers)), headers);
      },
    },
    [WELL_KNOWN_PATH]: {
      GET: (req, res) => json(res, 200, metadata, { "cache-control": "no-cache" }),
    },
    "/locket/deliveries": { POST: receive },
  };
  for (const [path, { body, type }] of Object.entries(files)) {
    routes[path] = { GET: (req, res) => send(res, 200, body, { "content-type": type, "cache-control": "no-cache" }) };
  }

  async function handle(req, res) {
    try {
      const path = new URL(req.url ?? "/", "https://x").pathname;
      let route = routes[path];
      if (!route && path.startsWith("/locket/requests/")) {
        const id = path.slice("/locket/requests/".length);
        route = {
          GET: (_req, r) => {
            const jws = REQUEST_ID.test(id) ? store.takeRequest(id) : undefined;
            if (!jws) return json(r, 404, { code: "request_not_found", message: "no such request, or it was already used or expired" });
            send(r, 200, jws, { "content-type": "application/jwt" });
          },
        };
      }
      if (!route) {
        return html(res, 404, layout({ shop, title: "Not found", content: errorPage({ status: 404, message: "There is no page here." }), me: null }));
      }
      const method = req.method === "HEAD" && route.GET && !path.startsWith("/locket/") ? "GET" : req.method;
      const run = route[method];
      if (!run) {
        return json(res, 405, { code: "method_not_allowed", message: `${req.method} is not allowed here` }, { allow: Object.keys(route).join(", ") });
      }
      await run(req, res);
    } catch (e) {
      log(`error ${req.method} ${String(req.url).slice(0, 200)}: ${e?.message ?? e}`);
      if (!res.headersSent) json(res, 500, { code: "internal_error", message: "the shop could not answer just now" });
      else res.destroy();
    }
  }

  return { bind, handle, store };
}
