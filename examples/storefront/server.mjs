#!/usr/bin/env node
// Northwind Outfitters, a demo shop that connects with its customers' Locket through @locket/retailer.
//
//   node server.mjs --host shop.test --listen 127.0.0.1:0 --tls-cert CERT.pem --tls-key KEY.pem --data DIR
//                   [--name "Shop name"]
//
// Prints `storefront listening on https://HOST:PORT` on stdout once it takes connections; logs go to stderr.
// SIGTERM or SIGINT stops it.

import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { parseArgs } from "node:util";
import { createStorefront } from "./lib/app.mjs";

function fail(message) {
  process.stderr.write(`storefront: ${message}\n`);
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      host: { type: "string" },
      listen: { type: "string", default: "127.0.0.1:8443" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      data: { type: "string" },
      name: { type: "string", default: "Northwind Outfitters" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  }));
} catch (e) {
  fail(`${e.message} (see --help)`);
}
if (args.help) {
  process.stdout.write(readFileSync(new URL(import.meta.url), "utf8").split("\n").slice(1, 8).map((l) => l.replace(/^\/\/ ?/, "")).join("\n") + "\n");
  process.exit(0);
}
for (const need of ["host", "tls-cert", "tls-key", "data"]) if (!args[need]) fail(`--${need} is required`);
const listen = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(args.listen);
if (!listen) fail(`--listen ${JSON.stringify(args.listen)}: expected ADDRESS:PORT, e.g. 127.0.0.1:8443`);

const shop = createStorefront({ dir: args.data, host: args.host.toLowerCase(), name: args.name });
let tls;
try {
  tls = { cert: readFileSync(args["tls-cert"]), key: readFileSync(args["tls-key"]) };
} catch (e) {
  fail(`cannot read the TLS certificate or key: ${e.message}`);
}
const server = createServer({ ...tls, requestTimeout: 30_000, headersTimeout: 10_000 }, shop.handle);
server.on("error", (e) => fail(`cannot listen on ${args.listen}: ${e.message}`));
server.listen(Number(listen[2]), listen[1], () => {
  const origin = shop.bind(server.address().port);
  process.stdout.write(`storefront listening on ${origin}\n`);
});

function stop(signal) {
  process.stderr.write(`storefront: ${signal}, stopping\n`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
