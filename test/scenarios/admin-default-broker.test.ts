// The default broker in the admin API, over real HTTP to a server started as
// a process: a client that connects without a tenant credential is listed
// under /default/clients and disconnected with 0x98, its retained message is
// listed and cleared, a message published over HTTP reaches it, every answer
// is as the OpenAPI document says, and only an Admin token for every
// namespace may do any of it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admin, documentedAnswer } from "../support/admin-api.ts";
import { collect, connect, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let server: RunningBroker;
let admin: Admin;
let doc: Record<string, any>;
const PREFIX = "/client/v4/accounts/{account_id}/pubsub";

beforeAll(async () => {
  server = await startBroker(["--admin-port", "0", "--sys-interval", "0"]);
  admin = new Admin(server);
  doc = await (await fetch(`http://127.0.0.1:${server.ports.http}/openapi.json`)).json() as Record<string, any>;
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

// Calls the API and checks the answer against the document's schema for it.
async function documented(method: string, path: string, docPath: string, body?: unknown, token?: string) {
  const answer = await admin.call(method, path, body, token);
  const schema = documentedAnswer(doc, method, `${PREFIX}${docPath}`, answer.status);
  const checked = schema.safeParse(answer.json);
  expect(checked.success, `${method} ${path}: ${JSON.stringify(checked.error?.issues)}`).toBe(true);
  return answer;
}

describe("the default broker in the admin API", () => {
  it("lists a client without a tenant credential, its subscriptions and session, and disconnects it with 0x98", async () => {
    const plain = await connect(server.url, { clientId: "plain-listed", reconnectPeriod: 0 });
    await plain.subscribeAsync("plain/#", { qos: 1 });
    const clients = await documented("GET", "/default/clients?client_id=plain-listed", "/default/clients");
    expect(clients.json.result).toMatchObject([{ client_id: "plain-listed", protocol_version: "5.0", subscriptions: 1, jti: null }]);
    const subs = await documented("GET", "/default/subscriptions?client_id=plain-listed", "/default/subscriptions");
    expect(subs.json.result).toMatchObject([{ client_id: "plain-listed", topic_filter: "plain/#", qos: 1 }]);
    expect((await documented("GET", "/default/sessions?client_id=plain-listed", "/default/sessions")).json.result).toMatchObject([{ client_id: "plain-listed", connected: true }]);
    // A tenant broker's list does not hold it.
    await admin.ok("POST", "/namespaces", { name: "acme" });
    await admin.ok("POST", "/namespaces/acme/brokers", { name: "sensors", authType: "TOKEN" });
    expect(await admin.ok("GET", "/namespaces/acme/brokers/sensors/clients")).toEqual([]);

    const disconnected = new Promise<number | undefined>((resolve) => plain.once("disconnect", (p) => resolve(p.reasonCode)));
    const answer = await documented("DELETE", "/default/clients/plain-listed", "/default/clients/{client_id}");
    expect(answer.json.result).toEqual({ client_id: "plain-listed", reason_code: 0x98, session: "kept" });
    expect(await disconnected).toBe(0x98);
    const gone = await documented("DELETE", "/default/clients/plain-listed", "/default/clients/{client_id}");
    expect(gone.status).toBe(404);
    expect(gone.json.errors[0]!.message).toBe('no client "plain-listed" is connected to the default broker');
    plain.end(true);
  });

  it("lists and clears its retained messages, and publishes to its clients over HTTP", async () => {
    const plain = await connect(server.url, { clientId: "plain-retainer" });
    await plain.publishAsync("plain/retained/a", "kept", { qos: 1, retain: true });
    await plain.publishAsync("plain/retained/b", "kept too", { qos: 1, retain: true });
    const listed = await documented("GET", `/default/retained?topic=${encodeURIComponent("plain/retained/#")}`, "/default/retained");
    expect(listed.json.result.map((m: { topic: string; payload_utf8: string }) => [m.topic, m.payload_utf8])).toEqual([["plain/retained/a", "kept"], ["plain/retained/b", "kept too"]]);
    const cleared = await documented("DELETE", `/default/retained?topic=${encodeURIComponent("plain/retained/#")}`, "/default/retained");
    expect(cleared.json.result).toEqual({ deleted: 2 });
    expect(await admin.ok("GET", `/default/retained?topic=${encodeURIComponent("plain/retained/#")}`)).toEqual([]);

    await plain.subscribeAsync("plain/http", { qos: 1 });
    const got = collect(plain);
    const published = await documented("POST", "/default/publish", "/default/publish", { topic: "plain/http", payload: "from the API", qos: 1 });
    expect(published.json.result).toEqual({ matched: 1 });
    await waitFor(() => got.some((m) => m.topic === "plain/http" && m.payload === "from the API"), 3000, "the message published over HTTP");
    plain.end(true);
  });

  it("refuses a User, a Viewer and an Admin scoped to namespaces with 403 saying why", async () => {
    const plain = await connect(server.url, { clientId: "plain-kept" });
    const user = await admin.apiToken("User");
    const viewer = await admin.apiToken("Viewer");
    const scoped = await admin.apiToken("Admin", ["acme"]);
    for (const [token, message] of [
      [user, "a User token cannot view or act on the default broker"],
      [viewer, "a Viewer token cannot view or act on the default broker"],
      [scoped, "only an Admin token for every namespace can view or act on the default broker: it belongs to no tenant"],
    ] as const) {
      for (const [method, path] of [["GET", "/default/clients"], ["DELETE", "/default/clients/plain-kept"], ["GET", "/default/retained"], ["DELETE", "/default/retained?topic=%23"]]) {
        const r = await admin.call(method!, path!, undefined, token);
        expect(r.status, `${method} ${path}`).toBe(403);
        expect(r.json.errors[0]!.message).toBe(message);
      }
    }
    expect((await admin.ok("GET", "/default/clients?client_id=plain-kept")).map((c: { client_id: string }) => c.client_id)).toEqual(["plain-kept"]);
    plain.end(true);
  });
});
