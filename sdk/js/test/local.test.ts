// LocalLocket against a stand-in endpoint on loopback: bearer auth, typed answers, {code, message} errors, the
// size cap, and the refusal of any URL that is not this computer's.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalLocket, LocketApiError, MAX_RESPONSE_BYTES } from "../src/index.js";
import { DATA_REPLY_MEMBERS, INTROSPECTION_MEMBERS } from "../src/local.js";
import { readRepoJson } from "./repo.js";

const reply = {
  format: "locket.data/v1",
  grant_id: "gr_0123456789abcdef0123456789abcdef",
  retailer_id: "shop.example",
  subject: "4YcqWULZIQRiQIQG5ND_kBRiYyYpe0Wqx8yWaOG1E7U",
  fields: [{ key: "contact.email", label: "Email address", version: 1, value: "ada@example.org", scope: "contact.email" }],
  empty_scopes: [],
  uses: 1,
  uses_left: null,
  disclosed_at: "2026-12-07T10:00:00Z",
};
let server: Server;
let endpoint: string;
const seen: (string | undefined)[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    const json = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.headers.authorization === "Bearer revoked") return json(403, { code: "grant_revoked", message: "the grant was revoked" });
    if (req.headers.authorization === "Bearer huge") return res.writeHead(200).end("x".repeat(MAX_RESPONSE_BYTES + 1));
    if (req.headers.authorization === "Bearer html") return res.writeHead(502).end("<html>");
    if (req.headers.authorization === "Bearer moved") return res.writeHead(302, { location: "http://example.org/" }).end();
    if (req.url === "/v1/data") return json(200, reply);
    return json(200, { active: true, status: "active", grant_id: reply.grant_id });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

async function refusal(p: Promise<unknown>): Promise<[number, string]> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LocketApiError) return [e.status, e.code];
    throw e;
  }
  throw new Error("not refused");
}

describe("LocalLocket", () => {
  it("accepts loopback endpoints only", () => {
    for (const ok of ["http://127.0.0.1:7419", "http://localhost:7419/", "http://[::1]:7419", "http://127.1.2.3:1"]) expect(() => new LocalLocket({ endpoint: ok })).not.toThrow();
    for (const bad of ["http://192.168.1.2:7419", "http://example.org", "http://127.0.0.1.example.org", "ftp://127.0.0.1", "http://u:p@127.0.0.1:1", "not a url"]) {
      expect(() => new LocalLocket({ endpoint: bad })).toThrow(/LocalLocket/);
    }
  });

  it("redeems with the token as a bearer credential and answers typed", async () => {
    const l = new LocalLocket({ endpoint: `${endpoint}/` });
    const data = await l.data("v4.public.abc.def");
    expect(data.fields[0]?.value).toBe("ada@example.org");
    expect(seen.at(-1)).toBe("Bearer v4.public.abc.def");
    expect((await l.grant("v4.public.abc.def")).status).toBe("active");
  });

  it("passes the endpoint's {code, message} through, and names what is not Locket", async () => {
    const l = new LocalLocket({ endpoint });
    expect(await refusal(l.data("revoked"))).toEqual([403, "grant_revoked"]);
    expect(await refusal(l.data("huge"))).toEqual([200, "response_too_large"]);
    expect(await refusal(l.data("html"))).toEqual([502, "unexpected_response"]);
    expect(await refusal(l.data("moved"))).toEqual([302, "unexpected_response"]);
    expect(await refusal(l.data("bad token"))).toEqual([0, "token_malformed"]);
    expect(await refusal(new LocalLocket({ endpoint: "http://127.0.0.1:1" }).data("t"))).toEqual([0, "endpoint_unreachable"]);
  });

  it("knows the reply members docs/openapi.json lists", () => {
    const schemas = readRepoJson("docs/openapi.json").components.schemas;
    expect([...DATA_REPLY_MEMBERS].sort()).toEqual(Object.keys(schemas.DataReply.properties).sort());
    expect([...INTROSPECTION_MEMBERS].sort()).toEqual(Object.keys(schemas.Introspection.properties).sort());
    expect(Object.keys(schemas.DisclosedValue.properties).sort()).toEqual(["key", "label", "scope", "value", "version"]);
  });
});
