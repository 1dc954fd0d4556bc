// Test helpers: the real binaries (LOCKET_BIN_DIR, default <repo>/target/debug), a development CA for shop.test,
// the storefront as a child process, an HTTPS client with a cookie jar, and the owner's `locket` CLI.

import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const HERE = fileURLToPath(new URL("..", import.meta.url));
const REPO = join(HERE, "..", "..");
export const BIN_DIR = process.env.LOCKET_BIN_DIR || join(REPO, "target", "debug");
export const PASSPHRASE = "correct horse battery staple";

/** Why the real-flow tests cannot run here, or undefined when they can. */
export function missingBinaries() {
  const missing = ["locket", "locket-retailer"].filter((b) => !existsSync(join(BIN_DIR, b)));
  return missing.length ? `not built in ${BIN_DIR}: ${missing.join(", ")} (set LOCKET_BIN_DIR)` : undefined;
}

/** A temporary folder with a development CA and a certificate for shop.test (`locket-retailer dev-cert`). */
export function makeWorld() {
  const dir = mkdtempSync(join(tmpdir(), "storefront-test-"));
  const out = spawnSync(join(BIN_DIR, "locket-retailer"), ["dev-cert", "--host", "shop.test", "--out", join(dir, "tls")], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`locket-retailer dev-cert: ${out.stderr}`);
  return {
    dir,
    tls: join(dir, "tls"),
    ca: readFileSync(join(dir, "tls", "ca.pem")),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Starts the storefront; resolves once it printed its ready line, with its origin, port and process. */
export async function startShop(world, { port = 0, data = join(world.dir, "shop") } = {}) {
  const child = spawn(
    process.execPath,
    [
      join(HERE, "server.mjs"),
      "--host", "shop.test",
      "--listen", `127.0.0.1:${port}`,
      "--tls-cert", join(world.tls, "cert.pem"),
      "--tls-key", join(world.tls, "key.pem"),
      "--data", data,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const log = [];
  createInterface({ input: child.stderr }).on("line", (l) => log.push(l));
  const lines = [];
  const ready = new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (l) => {
      lines.push(l);
      if (lines.length === 1) resolve(l);
    });
    child.once("exit", (code) => reject(new Error(`the storefront exited (${code}) before it was ready: ${log.join("\n")}`)));
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const line = await ready.finally(() => clearTimeout(timer));
  const m = /^storefront listening on (https:\/\/shop\.test:(\d+))$/.exec(line);
  if (!m) throw new Error(`unexpected ready line ${JSON.stringify(line)}`);
  return {
    origin: m[1],
    port: Number(m[2]),
    child,
    log,
    stdout: lines,
    data,
    /** SIGTERM, resolving with the exit code. */
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const [code] = await once(child, "exit");
      return code;
    },
  };
}

/** A browser-ish HTTPS client for one visitor: trusts the test CA, resolves shop.test to 127.0.0.1, keeps `sid`. */
export function visitor(world, shop) {
  const jar = new Map();
  const client = {
    jar,
    cookies: [],
    async fetch(path, { method = "GET", body, headers = {} } = {}) {
      const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
      return new Promise((resolve, reject) => {
        const req = request(
          `${shop.origin}${path}`,
          {
            method,
            ca: world.ca,
            agent: false,
            lookup: (_host, opts, cb) => (opts?.all ? cb(null, [{ address: "127.0.0.1", family: 4 }]) : cb(null, "127.0.0.1", 4)),
            headers: { ...(cookie ? { cookie } : {}), ...headers },
          },
          (res) => {
            const chunks = [];
            res.on("data", (c) => chunks.push(c));
            res.on("end", () => {
              for (const c of res.headers["set-cookie"] ?? []) {
                client.cookies.push(c);
                const [pair] = c.split(";");
                const [k, ...v] = pair.split("=");
                jar.set(k.trim(), v.join("="));
              }
              const text = Buffer.concat(chunks).toString("utf8");
              resolve({ status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) });
            });
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    },
    async me() {
      const r = await client.fetch("/api/me");
      return r.json();
    },
  };
  return client;
}

/** The owner's Locket: a fresh vault with the test KDF, trusting the test CA and reaching shop.test on loopback. */
export function owner(world) {
  const env = {
    ...process.env,
    LOCKET_VAULT: join(world.dir, "vault"),
    LOCKET_KDF_PROFILE: "test",
    LOCKET_NET_EXTRA_CA: join(world.tls, "ca.pem"),
    LOCKET_NET_RESOLVE: "shop.test=127.0.0.1",
    LOCKET_NET_ALLOW_LOOPBACK: "1",
    LOCKET_NET_TIMEOUT_MS: "3000",
    XDG_DATA_HOME: join(world.dir, "xdg"),
    NO_COLOR: "1",
  };
  const run = (args) =>
    spawnSync(join(BIN_DIR, "locket"), ["--passphrase-stdin", "--json", ...args], { env, input: `${PASSPHRASE}\n`, encoding: "utf8" });
  const ok = (args) => {
    const out = run(args);
    if (out.status !== 0) throw new Error(`locket ${args.join(" ")} (exit ${out.status}): ${out.stderr}`);
    return out.stdout.trim() ? JSON.parse(out.stdout) : null;
  };
  return {
    run,
    ok,
    /** Makes every waiting delivery due now (updates wait a little so quick edits go out as one) and sends. */
    deliverNow() {
      const list = ok(["deliveries", "list"]).deliveries ?? [];
      for (const d of list) if (d.status === "pending") ok(["deliveries", "retry", d.release_id]);
      return ok(["deliveries", "send"]);
    },
  };
}

/** Polls `check` (async) until it returns a truthy value or `ms` pass. */
export async function eventually(check, ms = 5000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  return last;
}
