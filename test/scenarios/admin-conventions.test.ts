// The admin API's HTTP conventions, over real HTTP to a server started as a
// process: Cloudflare's pagination on every list, 405 with Allow for a wrong
// method on a known path (404 for an unknown one), and every validation error
// of a request in the envelope at once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admin } from "../support/admin-api.ts";
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
      expect((first.json as any).result_info, path).toEqual({ page: 1, per_page: 100, count: total, total_count: total, total_pages: total === 0 ? 0 : 1 });
      const second = await admin.call("GET", `${path}?page=2&per_page=2`);
      expect((second.json as any).result_info, path).toEqual({ page: 2, per_page: 2, count: Math.max(0, total - 2), total_count: total, total_pages: Math.ceil(total / 2) });
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
