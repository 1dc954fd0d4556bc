// A client for the owner's Locket endpoint on the same computer (docs/openapi.json): redeem a grant token
// (`GET /v1/data`) and ask after its grant (`GET /v1/grant`). For a developer's machine, a kiosk or a desktop
// program; a shop's web server receives releases instead (ReleaseReceiver).

import { isIP } from "node:net";

/** Largest answer read, in bytes (the `locket-retailer` client's cap; no Locket answer comes near it). */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** The members of `DataReply` in docs/openapi.json. */
export const DATA_REPLY_MEMBERS = ["format", "grant_id", "retailer_id", "subject", "fields", "empty_scopes", "uses", "uses_left", "disclosed_at"] as const;
/** The members of `Introspection` in docs/openapi.json (`revoked_at`, `revoked_by` only for a revoked grant). */
export const INTROSPECTION_MEMBERS = [
  "active", "status", "grant_id", "retailer_id", "subject", "scopes", "issued_at", "not_before", "expires_at", "max_uses",
  "uses", "uses_left", "revoked_at", "revoked_by", "data_changed_since", "erasure_requested_at", "erasure_acknowledged_at",
] as const;

/** One granted value (`DisclosedValue`). */
export interface DisclosedValue {
  /** The field's key (`contact.email`); for a derived scope its scope string (`age_over:18`). */
  key: string;
  /** The field's label in the owner's Locket. */
  label: string;
  /** The version of the value disclosed (0 = the catalog default or a derived answer). */
  version: number;
  /** The value, as JSON of the field's type. */
  value: unknown;
  /** The granted scope that covers it. */
  scope: string;
}

/** What `GET /v1/data` answers (`DataReply`, format `locket.data/v1`): exactly the granted fields. */
export interface DataReply {
  format: "locket.data/v1";
  grant_id: string;
  retailer_id: string;
  /** The owner's pairwise subject id at this retailer. */
  subject: string;
  fields: DisclosedValue[];
  /** Granted optional scopes with no value now. */
  empty_scopes: string[];
  /** Redemptions so far, this one included. */
  uses: number;
  /** `null` = unlimited. */
  uses_left: number | null;
  disclosed_at: string;
}

/** What `GET /v1/grant` answers (`Introspection`). */
export interface Introspection {
  /** `true` only when the grant can be redeemed now. */
  active: boolean;
  status: "active" | "not_yet_valid" | "expired" | "revoked" | "exhausted";
  grant_id: string;
  retailer_id: string;
  subject: string;
  scopes: { scope: string; label: string; purpose: string }[];
  issued_at: string;
  not_before: string;
  expires_at: string;
  max_uses: number | null;
  uses: number;
  uses_left: number | null;
  revoked_at?: string;
  revoked_by?: "owner" | "retailer";
  /** When a field this grant disclosed changed after the version last disclosed; `null` when what you hold is current. */
  data_changed_since: string | null;
  /** When the owner asked you to erase what you received; `null` if never. */
  erasure_requested_at: string | null;
  erasure_acknowledged_at: string | null;
}

/**
 * The endpoint refused a call, or did not answer as Locket does. `code` is the endpoint's own (docs/errors.md:
 * `token_expired`, `grant_revoked`, `vault_locked`, …) with its HTTP `status`, or one of the retailer client's —
 * `endpoint_unreachable` (status 0), `unexpected_response`, `response_too_large`.
 */
export class LocketApiError extends Error {
  /** The HTTP status (0 when there was no answer). */
  readonly status: number;
  /** The stable code. */
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "LocketApiError";
    this.status = status;
    this.code = code;
  }
}

/** Settings of a {@link LocalLocket}. */
export interface LocalLocketOptions {
  /** The endpoint's base URL on this computer: `http://127.0.0.1:7419` (the grant file's `endpoint`). */
  endpoint: string;
  /** How long one call may take, in milliseconds (default 10,000). */
  timeoutMs?: number;
}

/** Whether a URL's host is this computer: `localhost`, 127.0.0.0/8 or `::1`. */
export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1" || host === "0:0:0:0:0:0:0:1";
  return false;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The owner's Locket on this computer, as a retailer calls it: `http(s)://` on a loopback address only (a
 * token is a bearer credential; this client never sends one elsewhere, and never follows a redirect).
 *
 * @throws Error from the constructor if `endpoint` is not a loopback http(s) URL.
 */
export class LocalLocket {
  /** The base URL, without a trailing slash. */
  readonly endpoint: string;
  readonly #timeoutMs: number;

  /** A client for `options.endpoint`. */
  constructor(options: LocalLocketOptions) {
    let url: URL;
    try {
      url = new URL(options.endpoint);
    } catch {
      throw new Error(`LocalLocket: ${JSON.stringify(options.endpoint)} is not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`LocalLocket: ${JSON.stringify(options.endpoint)} is not an http URL`);
    if (!isLoopbackUrl(url)) {
      throw new Error(`LocalLocket: ${JSON.stringify(options.endpoint)} is not on this computer; Locket's endpoint listens on loopback only (127.0.0.1, ::1)`);
    }
    if (url.username || url.password || url.search || url.hash) throw new Error(`LocalLocket: ${JSON.stringify(options.endpoint)} carries a user, query or fragment`);
    this.endpoint = url.href.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /**
   * Redeems `token`: `GET /v1/data`, the granted fields' current values. Each call counts as a use and is
   * recorded in the owner's access log.
   *
   * @throws LocketApiError (`token_expired`, `grant_revoked`, `grant_uses_exhausted`, `vault_locked`, …).
   */
  async data(token: string): Promise<DataReply> {
    const body = await this.#get("/v1/data", token);
    if (!isObject(body) || body.format !== "locket.data/v1" || !Array.isArray(body.fields) || !Array.isArray(body.empty_scopes)) {
      throw new LocketApiError(200, "unexpected_response", "the endpoint's answer to GET /v1/data is not a locket.data/v1 reply");
    }
    return body as unknown as DataReply;
  }

  /**
   * The grant's status: `GET /v1/grant` (active, revoked, expired, exhausted; whether the data changed or the
   * owner asked for erasure). It does not count a use.
   *
   * @throws LocketApiError.
   */
  async grant(token: string): Promise<Introspection> {
    const body = await this.#get("/v1/grant", token);
    if (!isObject(body) || typeof body.active !== "boolean" || typeof body.status !== "string" || typeof body.grant_id !== "string") {
      throw new LocketApiError(200, "unexpected_response", "the endpoint's answer to GET /v1/grant is not a grant's status");
    }
    return body as unknown as Introspection;
  }

  async #get(path: string, token: string): Promise<unknown> {
    if (typeof token !== "string" || !/^[\x21-\x7e]+$/.test(token)) {
      throw new LocketApiError(0, "token_malformed", "the token is not printable ASCII; send the grant file's token unchanged");
    }
    let res: Response;
    try {
      res = await fetch(this.endpoint + path, {
        headers: { authorization: `Bearer ${token}`, accept: "application/json" },
        redirect: "manual",
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (e) {
      throw new LocketApiError(0, "endpoint_unreachable", `the owner's Locket at ${this.endpoint} cannot be reached (${(e as Error).message}); is it running and unlocked?`);
    }
    const text = await readCapped(res);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (res.status === 200) return body;
    if (isObject(body) && typeof body.code === "string" && typeof body.message === "string") {
      throw new LocketApiError(res.status, body.code, body.message);
    }
    throw new LocketApiError(res.status, "unexpected_response", `the endpoint answered HTTP ${res.status} without a {code, message} body; is ${this.endpoint} a Locket?`);
  }
}

async function readCapped(res: Response): Promise<string> {
  const declared = Number(res.headers.get("content-length"));
  const tooLarge = () => new LocketApiError(res.status, "response_too_large", `the endpoint's answer is over ${MAX_RESPONSE_BYTES} bytes; it is not a Locket`);
  if (declared > MAX_RESPONSE_BYTES) {
    await res.body?.cancel();
    throw tooLarge();
  }
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
