// The admin API's HTTP conventions, over real HTTP to a server started as a
// process: Cloudflare's pagination on every list, 405 with Allow for a wrong
// method on a known path (404 for an unknown one), every validation error of
// a request in the envelope at once, and answers as the OpenAPI document says.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admin, documentedAnswer } from "../support/admin-api.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let server: RunningBroker;
let admin: Admin;
const B = "/namespaces/ns-a/brokers/b-1";

beforeAll(async () => {
  server = await startBroker(["--admin-port", "0", "--sys-interval", "0"]);
  admin = new Admin(server);
  for (const name of ["ns-a", "ns-b", "ns-c"]) await admin.ok("POST", "/namespaces", { name });
  for (const name of ["b-1", "b-2", "b-3"]) await admin.ok("POST", "/namespaces/ns-a/brokers", { name });
  await admin.ok("POST", `${B}/revocations?jti=j-1,j-2,j-3`);
  await admin.apiToken("Viewer");
  await admin.apiToken("User");
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

// Every list route, and how many items it holds after beforeAll.
const LISTS: [string, number][] = [
  ["/namespaces", 3], ["/namespaces/ns-a/brokers", 3], [`${B}/revocations`, 3], ["/tokens", 3],
  [`${B}/clients`, 0], [`${B}/sessions`, 0], [`${B}/subscriptions`, 0], [`${B}/retained`, 0],
];

describe("pagination", () => {
  it("pages every list with page and per_page and answers Cloudflare's result_info", async () => {
    for (const [path, total] of LISTS) {
      const first = await admin.call("GET", path);
      expect(first.status, path).toBe(200);
      expect(first.json.result_info, path).toEqual({ page: 1, per_page: 100, count: total, total_count: total, total_pages: total === 0 ? 0 : 1 });
      const second = await admin.call("GET", `${path}?page=2&per_page=2`);
      expect(second.json.result_info, path).toEqual({ page: 2, per_page: 2, count: Math.max(0, total - 2), total_count: total, total_pages: Math.ceil(total / 2) });
      expect(second.json.result, path).toHaveLength(Math.max(0, total - 2));
      if (total > 0) expect(second.json.result[0], path).toEqual(first.json.result[2]);
    }
  });

  it("refuses a bad page or per_page on every list with 400 naming the parameter and its range", async () => {
    for (const [path] of LISTS) {
      for (const [query, message] of [
        ["page=0", /^page must be a whole number of at least 1 \(the first page is 1\), not 0$/],
        ["page=two", /^page must be a whole number of at least 1 \(the first page is 1\), not "two"$/],
        ["per_page=1001", /^per_page must be a whole number from 1 to 1000, not 1001$/],
        ["per_page=-5", /^per_page must be a whole number from 1 to 1000, not -5$/],
      ] as const) {
        const r = await admin.call("GET", `${path}?${query}`);
        expect(r.status, `${path}?${query}`).toBe(400);
        expect(r.json.success).toBe(false);
        expect(r.json.errors.map((e) => e.message).some((m) => message.test(m)), `${path}?${query}: ${JSON.stringify(r.json.errors)}`).toBe(true);
      }
    }
  });
});

describe("methods and paths", () => {
  it("answers a wrong method on a known path with 405, an Allow header and the envelope", async () => {
    for (const [method, path, allow] of [
      ["PUT", "/namespaces", "GET, HEAD, POST"],
      ["PATCH", "/namespaces/ns-a", "DELETE, GET, HEAD"],
      ["POST", B, "DELETE, GET, HEAD, PATCH"],
      ["DELETE", `${B}/publish`, "POST"],
      ["GET", `${B}/keys/rotate`, "POST"],
      ["PUT", "/tokens/0123", "DELETE, GET, HEAD"],
    ] as const) {
      const r = await admin.call(method, path);
      expect(r.status, `${method} ${path}`).toBe(405);
      expect(r.headers.get("allow"), `${method} ${path}`).toBe(allow);
      expect(r.json).toEqual({ result: null, success: false, errors: [{ code: 7001, message: expect.stringMatching(new RegExp(`^${method} is not allowed on /client/v4/accounts/[^ ]+${path.replaceAll("/", "\\/")}; it takes ${allow}$`)) }], messages: [] });
    }
  });

  it("answers an unknown path with 404, whatever the method", async () => {
    for (const method of ["GET", "POST", "DELETE"]) {
      const r = await admin.call(method, "/namespaces/ns-a/nothing-here");
      expect(r.status).toBe(404);
      expect(r.headers.get("allow")).toBeNull();
      expect(r.json.errors).toEqual([{ code: 7000, message: expect.stringMatching(/^no route for /) }]);
    }
  });

  it("asks for a token before telling which methods a path takes", async () => {
    const r = await admin.call("PUT", "/namespaces", undefined, null);
    expect(r.status).toBe(401);
    expect(r.headers.get("allow")).toBeNull();
  });
});

describe("validation errors", () => {
  it("lists every problem of a body at once, each naming its field and the fix", async () => {
    const r = await admin.call("POST", "/namespaces/ns-a/brokers", {
      name: "bad_name", expiration: "soon", limits: { max_message_size: 1, foo: 1 }, colour: "red", on_publish: { url: 5 }, authType: "x", preset: 3,
    });
    expect(r.status).toBe(400);
    expect(r.json.errors.map((e) => e.code)).toEqual(Array(8).fill(1001));
    expect(r.json.errors).toHaveLength(8);
    expect(r.json.errors.map((e) => e.message)).toEqual(expect.arrayContaining([
      'authType must be one of TOKEN, MTLS, MTLS_AND_TOKEN (any case), not "x"',
      'broker name "bad_name" may contain only the letters a-z, the digits 0-9 and hyphens (it is a DNS label)',
      'expiration must be a whole number of seconds of at least 1, or null for none, not the string "soon"',
      "limits.max_message_size must be a whole number from 64 to 268435455, not 1",
      "on_publish.url must be a string, or null to remove the hook, not the number 5",
      "preset must be one of full, cloudflare, not 3",
      'unknown field "colour" in a broker; it takes name, authType, auth_type, description, expiration, on_publish, preset, limits',
      expect.stringMatching(/^unknown limit "foo"; the limits are max_message_size, /),
    ]));
    expect((await admin.ok("GET", "/namespaces/ns-a/brokers")).map((b: { name: string }) => b.name)).toEqual(["b-1", "b-2", "b-3"]);
  });

  it("lists every problem of a query at once", async () => {
    const r = await admin.call("GET", `${B}/sessions?connected=maybe&page=0&per_page=x`);
    expect(r.status).toBe(400);
    expect(r.json.errors).toEqual([
      { code: 1001, message: 'connected must be true or false, not "maybe"' },
      { code: 1001, message: "page must be a whole number of at least 1 (the first page is 1), not 0" },
      { code: 1001, message: 'per_page must be a whole number from 1 to 1000, not "x"' },
    ]);
  });

  it("lists every problem of a publish request, nested properties included", async () => {
    const r = await admin.call("POST", `${B}/publish`, { topic: 5, qos: 3, retain: "y", properties: { contentType: 1, payloadFormatIndicator: 9 } });
    expect(r.json.errors.map((e) => e.message)).toEqual([
      'topic must be a topic name such as "sensors/room-1", not the number 5',
      'payload is required: a string: UTF-8 text, or base64 with "encoding": "base64" ("" for an empty payload)',
      "qos must be one of 0, 1, 2, not the number 3",
      'retain must be true or false, not the string "y"',
      'properties.contentType must be a MIME type string such as "application/json", not the number 1',
      "properties.payloadFormatIndicator must be one of 0, 1, not the number 9",
    ]);
  });
});

describe("the OpenAPI document", () => {
  const PREFIX = "/client/v4/accounts/{account_id}/pubsub";
  const METHODS = ["get", "post", "patch", "put", "delete"];
  const placeholders = (path: string) => path.slice(PREFIX.length)
    .replace("{namespace}", "no-such-ns").replace("{broker}", "no-such-broker").replace("{client_id}", "nobody").replace("{token_id}", "0".repeat(32));
  let doc: any;
  beforeAll(async () => {
    doc = await (await fetch(`http://127.0.0.1:${server.ports.http}/openapi.json`)).json();
  });

  it("documents exactly the methods the server takes on each path, and the server answers every documented one", async () => {
    const paths = Object.keys(doc.paths).filter((p) => p.startsWith(PREFIX) && !p.endsWith("/openapi.json"));
    expect(paths.length).toBeGreaterThan(15);
    for (const path of paths) {
      const documented = METHODS.filter((m) => doc.paths[path][m] !== undefined).map((m) => m.toUpperCase());
      for (const method of documented) {
        const r = await admin.call(method, placeholders(path));
        expect(r.json.errors.map((e) => e.code), `${method} ${path}`).not.toContain(7000);
        expect(r.status, `${method} ${path}`).not.toBe(405);
      }
      // A method the document does not list is refused with an Allow that lists exactly the documented ones.
      const r = await admin.call("PUT", placeholders(path));
      expect(r.status, path).toBe(405);
      expect(r.headers.get("allow")!.split(", ").filter((m) => m !== "HEAD"), path).toEqual(documented.sort());
    }
  });

  it("describes the answers the server gives, successes and failures", async () => {
    await admin.ok("POST", `${B}/publish`, { topic: "a/b", payload: "v", retain: true, properties: { contentType: "text/plain", userProperties: [["k", "v"]] } });
    const token = await admin.call("POST", "/tokens", { name: "doc", role: "Viewer", namespaces: ["ns-a"] });
    const samples: [string, string, string, { status: number; json: unknown }][] = [
      ["GET", "/namespaces", "/namespaces", await admin.call("GET", "/namespaces")],
      ["GET", "/namespaces/{namespace}", "/namespaces/ns-a", await admin.call("GET", "/namespaces/ns-a")],
      ["GET", "/namespaces/{namespace}/brokers/{broker}", B, await admin.call("GET", B)],
      ["GET", "/namespaces/{namespace}/brokers/{broker}/publickeys", "", await admin.call("GET", `${B}/publickeys`)],
      ["GET", "/namespaces/{namespace}/brokers/{broker}/revocations", "", await admin.call("GET", `${B}/revocations`)],
      ["GET", "/namespaces/{namespace}/brokers/{broker}/retained", "", await admin.call("GET", `${B}/retained`)],
      ["GET", "/namespaces/{namespace}/brokers/{broker}/sessions", "", await admin.call("GET", `${B}/sessions`)],
      ["GET", "/namespaces/{namespace}/brokers/{broker}/credentials", "", await admin.call("GET", `${B}/credentials?clientid=d-1`)],
      ["POST", "/tokens", "", token],
      ["GET", "/tokens", "", await admin.call("GET", "/tokens")],
      ["POST", "/namespaces/{namespace}/brokers", "", await admin.call("POST", "/namespaces/ns-a/brokers", { name: 5, colour: 1 })],
      ["GET", "/namespaces", "", await admin.call("GET", "/namespaces", undefined, null)],
      ["GET", "/namespaces/{namespace}", "", await admin.call("GET", "/namespaces/ghost")],
      ["POST", "/namespaces", "", await admin.call("POST", "/namespaces", { name: "x" }, token.json.result.value)],
    ];
    expect(samples.map(([, , , r]) => r.status)).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 400, 401, 404, 403]);
    for (const [method, path, , answer] of samples) {
      const schema = documentedAnswer(doc, method, `${PREFIX}${path}`, answer.status);
      const checked = schema.safeParse(answer.json);
      expect(checked.success, `${method} ${path} ${answer.status}: ${JSON.stringify(checked.error?.issues)}`).toBe(true);
    }
    // And the check can fail: an answer with a field the document does not describe is refused.
    const broker = samples[2]![3].json as { result: Record<string, unknown> };
    expect(documentedAnswer(doc, "GET", `${PREFIX}/namespaces/{namespace}/brokers/{broker}`, 200).safeParse({ ...broker, result: { ...broker.result, extra: 1 } }).success).toBe(false);
  });
});
