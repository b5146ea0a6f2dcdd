// Where tenant on-publish hooks may post, as an operator and a tenant meet
// it: edgemq started as a process with the admin API; hook URLs to link-local
// (cloud metadata), private and loopback destinations refused when set (400)
// or when called, unless the operator allows them with --hook-allow.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admin } from "../support/admin-api.ts";
import { connect } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let hookServer: Server;
let hookPort: number;
let hookRequests = 0;
const servers: RunningBroker[] = [];

beforeAll(async () => {
  hookServer = createServer((_req, res) => {
    hookRequests++;
    res.writeHead(200).end("[]");
  });
  await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", r));
  hookPort = (hookServer.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const s of servers) await s.stop();
  await new Promise((r) => hookServer.close(r));
});

async function serverWith(args: string[]): Promise<{ server: RunningBroker; admin: Admin }> {
  const server = await startBroker(["--admin-port", "0", "--sys-interval", "0", ...args]);
  servers.push(server);
  const admin = new Admin(server);
  await admin.ok("POST", "/namespaces", { name: "dest" });
  return { server, admin };
}

describe("on-publish hook destinations", () => {
  it("refuses http://169.254.169.254/ and http://10.0.0.1/ with 400 by default, naming the rule and the flag that allows it", async () => {
    const { admin } = await serverWith([]);
    for (const [url, rule, allow] of [["http://169.254.169.254/latest/meta-data/", "link-local", "169.254.169.254"], ["http://10.0.0.1/", "a private address, in 10.0.0.0/8", "10.0.0.1"]] as const) {
      const created = await admin.call("POST", "/namespaces/dest/brokers", { name: "b", on_publish: { url } });
      expect(created.status, url).toBe(400);
      expect(created.json.success).toBe(false);
      expect(created.json.errors[0]!.message).toContain(`on_publish.url "${url}" is refused: ${url.split("/")[2]} is ${rule}`);
      expect(created.json.errors[0]!.message).toContain(`edgemq --hook-allow ${allow}`);
    }
    await admin.ok("POST", "/namespaces/dest/brokers", { name: "b" });
    const patched = await admin.call("PATCH", "/namespaces/dest/brokers/b", { on_publish: { url: "http://169.254.169.254/" } });
    expect(patched.status).toBe(400);
  });

  it("takes them once the operator allows them with --hook-allow", async () => {
    const { admin } = await serverWith(["--hook-allow", "169.254.169.254", "--hook-allow", "10.0.0.0/8"]);
    for (const [name, url] of [["meta", "http://169.254.169.254/"], ["private", "http://10.0.0.1/"]]) {
      expect((await admin.ok("POST", "/namespaces/dest/brokers", { name, on_publish: { url } })).on_publish.url).toBe(url);
    }
    const still = await admin.call("POST", "/namespaces/dest/brokers", { name: "other", on_publish: { url: "http://192.168.0.1/" } });
    expect(still.status).toBe(400);
  });

  it("refuses at call time a hook URL whose name resolves to loopback (localhost), counting the message as a hook failure", async () => {
    const { server, admin } = await serverWith([]);
    await admin.ok("POST", "/namespaces/dest/brokers", { name: "local", on_publish: { url: `http://localhost:${hookPort}/hook` } });
    const password = await admin.credential("dest", "local", "pub");
    const pub = await connect(server.url, { clientId: "pub", username: "x", password, reconnectPeriod: 0 });
    const code = await pub.publishAsync("t/1", "hi", { qos: 1 }).then(() => 0, (e: { code?: number }) => e.code ?? -1);
    pub.end(true);
    expect(code).toBe(0x80); // a failed call: dropped, fail_open being false
    expect(hookRequests).toBe(0);
    const metrics = await (await fetch(`http://127.0.0.1:${server.ports.http}/metrics`, { headers: { authorization: `Bearer ${admin.token}` } })).text();
    expect(metrics).toMatch(/edgemq_hook_messages_total\{namespace="dest",broker="local",outcome="failed"\} 1/);
  });
});
