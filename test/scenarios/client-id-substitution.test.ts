// %c in access rules and in a credential's topicAcl stands for one topic level:
// a client id holding `/` (or `+`, `#`) must not reach into another client's
// subtree. Over real sockets, with the server started as a process: the default
// broker's rules from a --config file, and a tenant broker's credentials.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Packet } from "@edgemq/core/codec";
import { RawClient } from "../support/clients.ts";
import { Admin } from "../support/admin-api.ts";
import { type RunningBroker, startBroker, writeConfig } from "../support/server.ts";

const enc = new TextEncoder();

const subscribe = (packetId: number, topicFilter: string): Packet => ({
  type: "subscribe", packetId, subscriptions: [{ topicFilter, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
});
const publish = (packetId: number, topic: string): Packet => ({ type: "publish", topic, payload: enc.encode("x"), qos: 1, retain: false, dup: false, packetId });

// The SUBACK code for one filter and the PUBACK code for one topic, from a connected raw client.
async function rights(raw: RawClient, filter: string, topic: string): Promise<[number, number]> {
  raw.send(subscribe(1, filter));
  const suback = (await raw.next("suback")).reasonCodes[0]!;
  raw.send(publish(2, topic));
  const puback = (await raw.next("puback")).reasonCode ?? 0;
  return [suback, puback];
}

let server: RunningBroker;
let admin: Admin;

beforeAll(async () => {
  const config = writeConfig({ acl: { rules: [{ topics: ["sensors/%c/#"], access: "all", effect: "allow" }], defaultEffect: "deny" } });
  server = await startBroker(["--config", config, "--admin-port", "0", "--sys-interval", "0", "--allow-anonymous"]);
  admin = new Admin(server);
  await admin.ok("POST", "/namespaces", { name: "subst" });
  await admin.ok("POST", "/namespaces/subst/brokers", { name: "devices" });
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

describe("an access rule with %c", () => {
  it("gives the client dev-1 its own subtree", async () => {
    const raw = await RawClient.open(server.port, 5);
    expect((await raw.connect("dev-1")).reasonCode).toBe(0);
    expect(await rights(raw, "sensors/dev-1/#", "sensors/dev-1/temp")).toEqual([1, 0]);
    raw.close();
  });

  it("gives the client dev-1/x no rights, so it cannot read or write inside dev-1's subtree", async () => {
    const raw = await RawClient.open(server.port, 5);
    expect((await raw.connect("dev-1/x")).reasonCode).toBe(0);
    expect(await rights(raw, "sensors/dev-1/x/#", "sensors/dev-1/x/temp")).toEqual([0x87, 0x87]);
    raw.close();
  });
});

describe("a credential whose topicAcl uses %c", () => {
  it("gives dev-1 its own subtree and dev-1/x nothing inside it", async () => {
    const acl = "sensors/%c/#";
    const own = await RawClient.open(server.port, 5);
    expect((await own.connect("dev-1", { password: enc.encode(await admin.credential("subst", "devices", "dev-1", acl)) })).reasonCode).toBe(0);
    expect(await rights(own, "sensors/dev-1/#", "sensors/dev-1/temp")).toEqual([1, 0]);
    own.close();
    const other = await RawClient.open(server.port, 5);
    expect((await other.connect("dev-1/x", { password: enc.encode(await admin.credential("subst", "devices", "dev-1/x", acl)) })).reasonCode).toBe(0);
    expect(await rights(other, "sensors/dev-1/x/#", "sensors/dev-1/x/temp")).toEqual([0x87, 0x87]);
    other.close();
  });
});
