// Unit tests of the tenancy registry: names, ids, namespaces and brokers,
// their keys, credentials and revocations, each broker's MQTT instance (driven
// through MemoryDuplex connections), and the TenancyStore persistence seam.
import { describe, expect, it } from "vitest";
import { type Broker, encodePacket, FrameDecoder, type Hook, type Packet } from "@edgemq/core";
import { MemoryDuplex } from "@edgemq/core/testing";
import { isRefusal, verifyCredential } from "@edgemq/credentials";
import { FakeClock } from "../support/fake-clock.ts";
import {
  type ApiTokenRecord, MAX_REVOCATIONS_PER_BROKER, MemoryTenancyStore, normalizeName, Registry, type RegistryOptions,
  TenancyError, type TenancyErrorKind, timestamp,
} from "@edgemq/tenancy";

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

async function setup(options: RegistryOptions = {}) {
  const clock = new FakeClock(T0);
  const registry = await Registry.open({ now: clock.now, ...options });
  return { clock, registry };
}

async function withBroker(options: RegistryOptions = {}) {
  const s = await setup(options);
  await s.registry.createNamespace({ name: "acme" });
  await s.registry.createBroker("acme", { name: "sensors" });
  return s;
}

async function refusal(p: Promise<unknown> | (() => unknown), kind: TenancyErrorKind): Promise<string> {
  let error: unknown;
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(TenancyError);
  expect((error as TenancyError).kind).toBe(kind);
  return (error as TenancyError).message;
}

async function until<T>(check: () => T | undefined, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 5));
  }
}

const enc = new TextEncoder();

// An MQTT 5.0 client over a MemoryDuplex.
class Peer {
  readonly duplex = new MemoryDuplex();
  readonly decoder = new FrameDecoder({ protocolVersion: 5 });
  readonly received: Packet[] = [];
  constructor(broker: Broker) {
    this.duplex.sink = broker.accept(this.duplex);
  }
  send(p: Packet) {
    this.duplex.push(encodePacket(p, 5));
  }
  #poll() {
    for (const chunk of this.duplex.take()) this.decoder.push(chunk);
    for (let p = this.decoder.next(); p; p = this.decoder.next()) this.received.push(p);
  }
  next<T extends Packet["type"]>(type: T): Promise<Extract<Packet, { type: T }>> {
    return until(() => {
      this.#poll();
      const i = this.received.findIndex((p) => p.type === type);
      return i === -1 ? undefined : (this.received.splice(i, 1)[0] as Extract<Packet, { type: T }>);
    });
  }
  async connect(clientId: string, token?: string) {
    this.send({
      type: "connect", protocolName: "MQTT", protocolVersion: 5, cleanStart: true, keepAlive: 0, clientId,
      password: token === undefined ? undefined : enc.encode(token),
    });
    return this.next("connack");
  }
}

describe("names", () => {
  it("accepts DNS labels and keeps them lower-cased", () => {
    expect(normalizeName("namespace", "My-Namespace01")).toBe("my-namespace01");
    expect(normalizeName("broker", "a")).toBe("a");
    expect(normalizeName("broker", `b${"x".repeat(62)}`)).toHaveLength(63);
  });

  it("refuses anything that is not a DNS label, saying why", () => {
    const cases: [unknown, RegExp][] = [
      ["", /needs a name/],
      [undefined, /needs a name/],
      [42, /must be a string/],
      [`a${"b".repeat(63)}`, /64 characters long; a DNS label has at most 63/],
      ["my_ns", /only the letters a-z, the digits 0-9 and hyphens/],
      ["my.ns", /only the letters/],
      ["ns ", /only the letters/],
      ["\u212Aelvin", /only the letters/], // the Kelvin sign lower-cases to an ASCII k
      ["1abc", /must start with a letter/],
      ["-abc", /must start with a letter/],
      ["abc-", /must end with a letter or a digit/],
    ];
    for (const [value, message] of cases) {
      let error: unknown;
      try {
        normalizeName("namespace", value);
      } catch (e) {
        error = e;
      }
      expect(error, String(value)).toBeInstanceOf(TenancyError);
      expect((error as TenancyError).kind).toBe("invalid");
      expect((error as Error).message).toMatch(message);
    }
  });

  it("applies the rules to namespaces and brokers created through the registry", async () => {
    const { registry } = await setup();
    expect(await refusal(registry.createNamespace({ name: "Bad_Name" }), "invalid")).toMatch(/namespace name "Bad_Name"/);
    await registry.createNamespace({ name: "ok" });
    expect(await refusal(registry.createBroker("ok", { name: "9lives" }), "invalid")).toMatch(/broker name "9lives" must start with a letter/);
  });
});

describe("ids and timestamps", () => {
  it("gives 32 lowercase hex ids and RFC 3339 times with microseconds", async () => {
    const { registry } = await withBroker();
    const ns = registry.getNamespace("acme");
    const b = registry.getBroker("acme", "sensors");
    expect(ns.id).toMatch(/^[0-9a-f]{32}$/);
    expect(b.id).toMatch(/^[0-9a-f]{32}$/);
    expect(ns.id).not.toBe(b.id);
    expect(ns.created_on).toBe("2026-01-02T03:04:05.678000Z");
    expect(timestamp(Date.UTC(2022, 4, 11, 23, 13, 8, 383))).toBe("2022-05-11T23:13:08.383000Z");
    expect(b.modified_on).toBe(b.created_on);
  });

  it("moves modified_on, and only it, when a broker changes", async () => {
    const { registry, clock } = await withBroker();
    clock.t += 90_000;
    const b = await registry.updateBroker("acme", "sensors", { description: "temperature" });
    expect(b.created_on).toBe("2026-01-02T03:04:05.678000Z");
    expect(b.modified_on).toBe("2026-01-02T03:05:35.678000Z");
  });
});

describe("namespaces", () => {
  it("treats names case-insensitively: a second ACME is taken, and lookups ignore case", async () => {
    const { registry } = await setup();
    const ns = await registry.createNamespace({ name: "Acme", description: "the first" });
    expect(ns).toMatchObject({ name: "acme", description: "the first" });
    expect(await refusal(registry.createNamespace({ name: "ACME" }), "conflict")).toBe(`namespace "acme" already exists`);
    expect(registry.getNamespace("aCmE").id).toBe(ns.id);
    expect(registry.hasNamespace("ACME")).toBe(true);
    expect(registry.hasNamespace("bad_name")).toBe(false);
  });

  it("lists namespaces oldest first", async () => {
    const { registry, clock } = await setup();
    for (const name of ["zeta", "alpha", "mid"]) {
      await registry.createNamespace({ name });
      clock.t += 1;
    }
    expect(registry.listNamespaces().map((n) => n.name)).toEqual(["zeta", "alpha", "mid"]);
  });

  it("answers not_found for a namespace that does not exist", async () => {
    const { registry } = await setup();
    expect(await refusal(() => registry.getNamespace("ghost"), "not_found")).toBe(`no namespace "ghost"`);
    expect(await refusal(() => registry.listBrokers("ghost"), "not_found")).toMatch(/ghost/);
    await refusal(registry.deleteNamespace("ghost"), "not_found");
    await refusal(registry.createBroker("ghost", { name: "b" }), "not_found");
  });

  it("refuses to delete a namespace that still has brokers, naming them; deletes it once empty, and the name is free again", async () => {
    const { registry, clock } = await withBroker();
    clock.t += 1;
    await registry.createBroker("acme", { name: "lights" });
    expect(await refusal(registry.deleteNamespace("acme"), "not_empty")).toBe(`namespace "acme" still has brokers (sensors, lights); delete them first`);
    await registry.deleteBroker("acme", "sensors");
    await registry.deleteBroker("acme", "lights");
    await registry.deleteNamespace("ACME");
    expect(registry.listNamespaces()).toEqual([]);
    expect((await registry.createNamespace({ name: "acme" })).name).toBe("acme");
  });

  it("holds to a configured namespace limit", async () => {
    const { registry } = await setup({ maxNamespaces: 2 });
    await registry.createNamespace({ name: "a" });
    await registry.createNamespace({ name: "b" });
    expect(await refusal(registry.createNamespace({ name: "c" }), "limit")).toMatch(/at most 2 namespaces/);
  });

  it("lets exactly one of two simultaneous creations of a name succeed", async () => {
    const { registry } = await setup();
    const results = await Promise.allSettled([registry.createNamespace({ name: "race" }), registry.createNamespace({ name: "RACE" })]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(registry.listNamespaces()).toHaveLength(1);
  });

  it("refuses a description that is not a string or is too long", async () => {
    const { registry } = await setup();
    await refusal(registry.createNamespace({ name: "a", description: 5 as unknown as string }), "invalid");
    expect(await refusal(registry.createNamespace({ name: "a", description: "x".repeat(1025) }), "invalid")).toMatch(/at most 1024/);
  });
});

describe("brokers", () => {
  it("creates a TOKEN broker with Cloudflare's defaults and its own signing key", async () => {
    const { registry } = await withBroker();
    const b = registry.getBroker("ACME", "Sensors");
    expect(b).toMatchObject({ name: "sensors", namespace: "acme", authType: "TOKEN", expiration: null, description: "", on_publish: null });
    expect(b.keys.current.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(b.keys.previous).toBeUndefined();
    expect(registry.endpoint(b)).toBe("mqtts://sensors.acme.localhost:8883");
  });

  it("builds endpoints on a configured domain and refuses a domain that is not a DNS name", async () => {
    const { registry } = await withBroker({ domain: "PubSub.Example.com." });
    expect(registry.endpoint(registry.getBroker("acme", "sensors"))).toBe("mqtts://sensors.acme.pubsub.example.com:8883");
    await refusal(() => new Registry({ domain: "not a domain" }), "invalid");
  });

  it("keeps broker names unique within a namespace, not across namespaces", async () => {
    const { registry } = await withBroker();
    expect(await refusal(registry.createBroker("acme", { name: "SENSORS" }), "conflict")).toBe(`broker "sensors" already exists in namespace "acme"`);
    await registry.createNamespace({ name: "globex" });
    const other = await registry.createBroker("globex", { name: "sensors" });
    expect(other.id).not.toBe(registry.getBroker("acme", "sensors").id);
    expect(other.keys.current.kid).not.toBe(registry.getBroker("acme", "sensors").keys.current.kid);
  });

  it("refuses MTLS brokers unless the server enables them, and never issues tokens for MTLS", async () => {
    const { registry } = await withBroker();
    expect(await refusal(registry.createBroker("acme", { name: "certs", authType: "MTLS" }), "unsupported")).toMatch(/MTLS is not enabled on this server .*client certificates/);
    expect(await refusal(registry.createBroker("acme", { name: "x", authType: "BASIC" as "TOKEN" }), "invalid")).toMatch(/authType must be one of TOKEN, MTLS, MTLS_AND_TOKEN/);
    const enabled = await withBroker({ authTypes: ["TOKEN", "MTLS", "MTLS_AND_TOKEN"] });
    await enabled.registry.createBroker("acme", { name: "certs", authType: "MTLS" });
    await enabled.registry.createBroker("acme", { name: "both", authType: "mtls_and_token" as "MTLS_AND_TOKEN" });
    expect(enabled.registry.getBroker("acme", "both").authType).toBe("MTLS_AND_TOKEN");
    expect(await refusal(enabled.registry.issueCredentials("acme", "certs"), "unsupported")).toMatch(/issues no tokens/);
    expect(await enabled.registry.issueCredentials("acme", "both")).toHaveLength(1);
  });

  it("validates expiration, on_publish and description", async () => {
    const { registry } = await withBroker();
    for (const expiration of [0, -5, 1.5, "60"]) {
      expect(await refusal(registry.updateBroker("acme", "sensors", { expiration: expiration as number }), "invalid")).toMatch(/expiration must be a whole number of seconds/);
    }
    expect(await refusal(registry.updateBroker("acme", "sensors", { on_publish: { url: "ftp://x.example" } }), "invalid")).toMatch(/must be an https:\/\//);
    expect(await refusal(registry.updateBroker("acme", "sensors", { on_publish: { url: "not a url" } }), "invalid")).toMatch(/is not a URL/);
    expect(await refusal(registry.updateBroker("acme", "sensors", { on_publish: "https://x" as unknown as { url: string } }), "invalid")).toMatch(/on_publish must be an object/);
    expect(await refusal(registry.createBroker("acme", { name: "long", description: "d".repeat(2000) }), "invalid")).toMatch(/description/);
  });

  it("updates fields, leaves absent ones alone and clears them with null", async () => {
    const { registry } = await withBroker();
    await registry.updateBroker("acme", "sensors", { expiration: 3600, description: "temps", on_publish: { url: "https://hook.example/x" } });
    expect(registry.getBroker("acme", "sensors")).toMatchObject({ expiration: 3600, description: "temps", on_publish: { url: "https://hook.example/x" } });
    await registry.updateBroker("acme", "sensors", { description: "still" });
    expect(registry.getBroker("acme", "sensors")).toMatchObject({ expiration: 3600, description: "still", on_publish: { url: "https://hook.example/x" } });
    await registry.updateBroker("acme", "sensors", { expiration: null, on_publish: { url: null }, description: null });
    expect(registry.getBroker("acme", "sensors")).toMatchObject({ expiration: null, description: "", on_publish: null });
    await registry.updateBroker("acme", "sensors", { on_publish: { url: "https://hook.example/y" } });
    await registry.updateBroker("acme", "sensors", { on_publish: null });
    expect(registry.getBroker("acme", "sensors").on_publish).toBeNull();
  });

  it("keeps on_publish.fail_open (false unless set), changes it alone without losing the URL, and tells the running broker", async () => {
    const updates: [string, boolean | undefined][] = [];
    const { registry } = await withBroker({ onBrokerUpdated: (r: { on_publish: { url: string; fail_open?: boolean } | null }) => updates.push([r.on_publish?.url ?? "none", r.on_publish?.fail_open]) });
    await registry.updateBroker("acme", "sensors", { on_publish: { url: "https://hook.example/x" } });
    expect(registry.getBroker("acme", "sensors").on_publish).toEqual({ url: "https://hook.example/x", fail_open: false });
    await registry.updateBroker("acme", "sensors", { on_publish: { fail_open: true } });
    expect(registry.getBroker("acme", "sensors").on_publish).toEqual({ url: "https://hook.example/x", fail_open: true });
    expect(updates).toEqual([["https://hook.example/x", false], ["https://hook.example/x", true]]);
    expect(await refusal(registry.updateBroker("acme", "sensors", { on_publish: { url: "https://h.example", fail_open: "yes" as unknown as boolean } }), "invalid")).toMatch(/fail_open must be true or false/);
    await registry.updateBroker("acme", "sensors", { on_publish: null });
    expect(await refusal(registry.updateBroker("acme", "sensors", { on_publish: { fail_open: true } }), "invalid")).toMatch(/needs a hook/);
    const created = await registry.createBroker("acme", { name: "open", on_publish: { url: "http://hook.example:9/h", fail_open: true } });
    expect(created.on_publish).toEqual({ url: "http://hook.example:9/h", fail_open: true });
  });

  it("holds to a configured brokers-per-namespace limit", async () => {
    const { registry } = await withBroker({ maxBrokersPerNamespace: 1 });
    expect(await refusal(registry.createBroker("acme", { name: "second" }), "limit")).toMatch(/already has 1 brokers/);
  });

  it("finds a broker by host name <broker>.<namespace>.<domain>, in any case and with a port", async () => {
    const { registry } = await withBroker();
    expect(registry.findByHost("sensors.acme.localhost")).toEqual({ namespace: "acme", broker: "sensors" });
    expect(registry.findByHost("SENSORS.Acme.localhost.:8883")).toEqual({ namespace: "acme", broker: "sensors" });
    expect(registry.findByHost("lights.acme.localhost")).toBeUndefined();
    expect(registry.findByHost("sensors.acme.example.com")).toBeUndefined();
    expect(registry.findByHost("x.sensors.acme.localhost")).toBeUndefined();
    expect(registry.findByHost("acme.localhost")).toBeUndefined();
  });

  it("returns copies: changing a returned record does not change the broker", async () => {
    const { registry } = await withBroker();
    const b = registry.getBroker("acme", "sensors");
    b.description = "tampered";
    b.expiration = 1;
    expect(registry.getBroker("acme", "sensors")).toMatchObject({ description: "", expiration: null });
  });
});

describe("credentials and keys", () => {
  const verify = (registry: Registry, token: string, now = T0) =>
    verifyCredential(token, registry.keys("acme", "sensors"), { audience: "sensors.acme", now, isRevoked: () => false });

  it("issues one credential per given client id and generates more up to number", async () => {
    const { registry } = await withBroker();
    const issued = await registry.issueCredentials("acme", "sensors", { clientIds: ["dev-1", "dev-2"], number: 4 });
    expect(issued.map((c) => c.clientId).slice(0, 2)).toEqual(["dev-1", "dev-2"]);
    expect(issued).toHaveLength(4);
    for (const c of issued.slice(2)) expect(c.clientId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(new Set(issued.map((c) => c.jti)).size).toBe(4);
    for (const c of issued) expect(await verify(registry, c.token)).toMatchObject({ sub: c.clientId, jti: c.jti, iat: Math.floor(T0 / 1000) });
    expect(await registry.issueCredentials("acme", "sensors", { clientIds: ["a", "b", "c"], number: 1 })).toHaveLength(3);
    expect(await registry.issueCredentials("acme", "sensors")).toHaveLength(1);
  });

  it("refuses more than 100, repeated or empty client ids, and a bad number", async () => {
    const { registry } = await withBroker();
    expect(await registry.issueCredentials("acme", "sensors", { number: 100 })).toHaveLength(100);
    expect(await refusal(registry.issueCredentials("acme", "sensors", { number: 101 }), "invalid")).toMatch(/from 1 to 100/);
    await refusal(registry.issueCredentials("acme", "sensors", { number: 0 }), "invalid");
    const ids = Array.from({ length: 101 }, (_, i) => `c${i}`);
    expect(await refusal(registry.issueCredentials("acme", "sensors", { clientIds: ids }), "invalid")).toMatch(/at most 100 credentials/);
    expect(await refusal(registry.issueCredentials("acme", "sensors", { clientIds: ["x", "x"] }), "invalid")).toMatch(/"x" is given twice/);
    await refusal(registry.issueCredentials("acme", "sensors", { clientIds: [""] }), "invalid");
    await refusal(registry.issueCredentials("acme", "sensors", { clientIds: ["a\u0000b"] }), "invalid");
  });

  it("takes the shorter of the broker's and the request's expiration, and none for -1 only while the broker sets none", async () => {
    const { registry } = await withBroker();
    const s = Math.floor(T0 / 1000);
    const exp = async (expiration?: number) => (await registry.issueCredentials("acme", "sensors", { expiration }))[0]!.exp;
    expect(await exp()).toBeUndefined();
    expect(await exp(-1)).toBeUndefined();
    expect(await exp(60)).toBe(s + 60);
    await registry.updateBroker("acme", "sensors", { expiration: 3600 });
    expect(await exp()).toBe(s + 3600);
    expect(await exp(60)).toBe(s + 60);
    expect(await exp(7200)).toBe(s + 3600);
    expect(await exp(-1)).toBe(s + 3600);
    const [c] = await registry.issueCredentials("acme", "sensors", { expiration: 60 });
    expect(isRefusal(await verify(registry, c!.token, T0 + 59_000))).toBe(false);
    expect(await verify(registry, c!.token, T0 + 120_000)).toMatchObject({ reasonCode: 0x86, reason: "the credential has expired" });
    for (const bad of [0, -2, 1.5]) expect(await refusal(registry.issueCredentials("acme", "sensors", { expiration: bad }), "invalid")).toMatch(/expiration/);
  });

  it("puts the topicAcl in the credential, and refuses one that is not valid", async () => {
    const { registry } = await withBroker();
    const [c] = await registry.issueCredentials("acme", "sensors", { topicAcl: "sub:a/+/b pub:c/%c" });
    expect(await verify(registry, c!.token)).toMatchObject({ topicAcl: { subscribe: ["a/+/b"], publish: ["c/%c"] } });
    expect(await refusal(registry.issueCredentials("acme", "sensors", { topicAcl: "sub:a/#/b" }), "invalid")).toMatch(/topicAcl filter "a\/#\/b"/);
  });

  it("rotates keys: the new key signs, the previous still verifies, the one before no longer does", async () => {
    const { registry } = await withBroker();
    const first = registry.keys("acme", "sensors").current.kid;
    const [old] = await registry.issueCredentials("acme", "sensors");
    const keys = await registry.rotateKeys("acme", "sensors");
    expect(keys.map((k) => k.kid)).toEqual([registry.keys("acme", "sensors").current.kid, first]);
    expect(registry.publicKeys("acme", "sensors")).toEqual(keys);
    expect(isRefusal(await verify(registry, old!.token))).toBe(false);
    const [fresh] = await registry.issueCredentials("acme", "sensors");
    expect(JSON.parse(atob(fresh!.token.split(".")[0]!.replace(/-/g, "+").replace(/_/g, "/"))).kid).toBe(keys[0]!.kid);
    await registry.rotateKeys("acme", "sensors");
    expect(await verify(registry, old!.token)).toMatchObject({ reasonCode: 0x86 });
    expect(isRefusal(await verify(registry, fresh!.token))).toBe(false);
  });
});

describe("revocations", () => {
  it("adds, lists and removes revocations, keeping the first revocation time", async () => {
    const { registry, clock } = await withBroker();
    await registry.revoke("acme", "sensors", ["J1", "J2"]);
    clock.t += 1000;
    await registry.revoke("acme", "sensors", ["J2", "J3", "J3"]);
    expect(registry.revocations("acme", "sensors")).toEqual([
      { jti: "J1", revoked_at: "2026-01-02T03:04:05.678000Z" },
      { jti: "J2", revoked_at: "2026-01-02T03:04:05.678000Z" },
      { jti: "J3", revoked_at: "2026-01-02T03:04:06.678000Z" },
    ]);
    expect(registry.isRevoked("acme", "sensors", "J2")).toBe(true);
    await registry.unrevoke("acme", "sensors", ["J2", "never-revoked"]);
    expect(registry.revocations("acme", "sensors").map((r) => r.jti)).toEqual(["J1", "J3"]);
  });

  it("refuses an empty list and jti values with spaces, commas or control characters", async () => {
    const { registry } = await withBroker();
    await refusal(registry.revoke("acme", "sensors", []), "invalid");
    for (const jti of ["", "a b", "a,b", "a\nb", "x".repeat(129)]) {
      expect(await refusal(registry.revoke("acme", "sensors", [jti]), "invalid")).toMatch(/is not a credential id/);
    }
  });

  it(`holds at most ${MAX_REVOCATIONS_PER_BROKER} revocations per broker`, async () => {
    const { registry } = await withBroker();
    await registry.revoke("acme", "sensors", Array.from({ length: MAX_REVOCATIONS_PER_BROKER }, (_, i) => `jti-${i}`));
    expect(await refusal(registry.revoke("acme", "sensors", ["one-more"]), "limit")).toMatch(/at most 10000 revocations/);
    await registry.revoke("acme", "sensors", ["jti-5"]); // already revoked: adds nothing
    await registry.unrevoke("acme", "sensors", ["jti-0"]);
    await registry.revoke("acme", "sensors", ["one-more"]);
    expect(registry.revocations("acme", "sensors")).toHaveLength(MAX_REVOCATIONS_PER_BROKER);
  });
});

describe("each broker's MQTT instance", () => {
  it("is created when first needed, once, named <broker>.<namespace>, refusing clients without a credential", async () => {
    const { registry } = await withBroker();
    expect(registry.instances()).toEqual([]);
    const broker = registry.broker("ACME", "sensors");
    expect(registry.broker("acme", "SENSORS")).toBe(broker);
    expect(registry.instances()).toEqual([broker]);
    expect(broker.name).toBe("sensors.acme");
    expect(broker.allowAnonymous).toBe(false);
    expect((await new Peer(broker).connect("dev-1")).reasonCode).toBe(0x86);
    const [c] = await registry.issueCredentials("acme", "sensors", { clientIds: ["dev-1"] });
    expect((await new Peer(broker).connect("", c!.token))).toMatchObject({ reasonCode: 0, properties: { assignedClientIdentifier: c!.clientId } });
  });

  it("holds each client to its credential's topicAcl", async () => {
    const { registry } = await withBroker();
    const [c] = await registry.issueCredentials("acme", "sensors", { clientIds: ["dev-1"], topicAcl: "sub:a/#" });
    const peer = new Peer(registry.broker("acme", "sensors"));
    expect((await peer.connect("dev-1", c!.token)).reasonCode).toBe(0);
    const sub = (packetId: number, topicFilter: string) => ({ type: "subscribe" as const, packetId, subscriptions: [{ topicFilter, qos: 0 as const, noLocal: false, retainAsPublished: false, retainHandling: 0 as const }] });
    peer.send(sub(1, "a/x"));
    expect((await peer.next("suback")).reasonCodes).toEqual([0]);
    peer.send(sub(2, "b/x"));
    expect((await peer.next("suback")).reasonCodes).toEqual([0x87]);
  });

  it("keeps brokers apart: a credential of one broker is refused by another with the same names elsewhere", async () => {
    const { registry } = await withBroker();
    await registry.createNamespace({ name: "globex" });
    await registry.createBroker("globex", { name: "sensors" });
    await registry.createBroker("acme", { name: "lights" });
    const [c] = await registry.issueCredentials("acme", "sensors", { clientIds: ["dev-1"] });
    expect((await new Peer(registry.broker("globex", "sensors")).connect("dev-1", c!.token)).reasonCode).toBe(0x86);
    expect((await new Peer(registry.broker("acme", "lights")).connect("dev-1", c!.token)).reasonCode).toBe(0x86);
    expect((await new Peer(registry.broker("acme", "sensors")).connect("dev-1", c!.token)).reasonCode).toBe(0);
  });

  it("disconnects a live session at once with 0x98 when its jti is revoked, refuses it with 0x87 after, and not once unrevoked", async () => {
    const { registry } = await withBroker();
    const [gone, kept] = await registry.issueCredentials("acme", "sensors", { clientIds: ["gone", "kept"] });
    const broker = registry.broker("acme", "sensors");
    const a = new Peer(broker), b = new Peer(broker);
    expect((await a.connect("gone", gone!.token)).reasonCode).toBe(0);
    expect((await b.connect("kept", kept!.token)).reasonCode).toBe(0);
    expect(await registry.revoke("acme", "sensors", [gone!.jti])).toBe(1);
    expect(await a.next("disconnect")).toMatchObject({ reasonCode: 0x98 });
    expect(a.duplex.closed).toBe(true);
    expect(b.duplex.closed).toBe(false);
    expect((await new Peer(broker).connect("gone", gone!.token)).reasonCode).toBe(0x87);
    await registry.unrevoke("acme", "sensors", [gone!.jti]);
    expect((await new Peer(broker).connect("gone", gone!.token)).reasonCode).toBe(0);
  });

  it("disconnects every client with 0x98 when its broker is deleted, and the broker is gone", async () => {
    const { registry } = await withBroker();
    const [c] = await registry.issueCredentials("acme", "sensors", { clientIds: ["dev-1"] });
    const broker = registry.broker("acme", "sensors");
    const peer = new Peer(broker);
    expect((await peer.connect("dev-1", c!.token)).reasonCode).toBe(0);
    await registry.deleteBroker("acme", "sensors");
    expect(await peer.next("disconnect")).toMatchObject({ reasonCode: 0x98 });
    expect(peer.duplex.closed).toBe(true);
    expect(broker.connectionCount).toBe(0);
    expect(registry.instances()).toEqual([]);
    await refusal(() => registry.broker("acme", "sensors"), "not_found");
    const late = new Peer(broker); // the closed instance takes no one
    expect(late.duplex.closed).toBe(true);
  });

  it("builds each instance with the configured extras: limits and hooks after authentication", async () => {
    const seen: string[] = [];
    const observer: Hook = { name: "observer", onConnected: (client) => seen.push(client.clientId) };
    const { registry } = await withBroker({ brokerOptions: (b) => ({ limits: { maximumKeepAlive: 42, sysInterval: 0 }, hooks: b.name === "sensors" ? [observer] : [] }) });
    const broker = registry.broker("acme", "sensors");
    expect(broker.limits.maximumKeepAlive).toBe(42);
    const [c] = await registry.issueCredentials("acme", "sensors", { clientIds: ["dev-1"] });
    await new Peer(broker).connect("dev-1", c!.token);
    expect(seen).toEqual(["dev-1"]);
  });
});

describe("persistence through the TenancyStore", () => {
  it("gives a second registry over the same store every namespace, broker, key, revocation and API token", async () => {
    const store = new MemoryTenancyStore();
    const first = await Registry.open({ store, now: () => T0 });
    await first.createNamespace({ name: "acme", description: "kept" });
    await first.createBroker("acme", { name: "sensors", expiration: 600 });
    await first.createBroker("acme", { name: "doomed" });
    await first.rotateKeys("acme", "sensors");
    const [c, r] = await first.issueCredentials("acme", "sensors", { clientIds: ["dev-1", "dev-2"] });
    await first.revoke("acme", "sensors", [r!.jti, "other"]);
    await first.unrevoke("acme", "sensors", ["other"]);
    const token: ApiTokenRecord = { id: "a".repeat(32), name: "ci", role: "User", namespaces: ["acme"], hash: "f".repeat(64), source: "api", created_on: timestamp(T0) };
    await first.putApiToken(token);
    await first.deleteBroker("acme", "doomed");

    const second = await Registry.open({ store, now: () => T0 });
    expect(second.listNamespaces()).toEqual(first.listNamespaces());
    expect(second.listBrokers("acme")).toEqual(first.listBrokers("acme"));
    expect(second.getBroker("acme", "sensors").keys).toEqual(first.getBroker("acme", "sensors").keys);
    expect(second.revocations("acme", "sensors")).toEqual([{ jti: r!.jti, revoked_at: timestamp(T0) }]);
    expect(second.apiTokenByHash("f".repeat(64))).toEqual(token);
    const broker = second.broker("acme", "sensors");
    expect((await new Peer(broker).connect("dev-1", c!.token)).reasonCode).toBe(0);
    expect((await new Peer(broker).connect("dev-2", r!.token)).reasonCode).toBe(0x87);
  });

  it("applies nothing when the store fails to write", async () => {
    class FailingStore extends MemoryTenancyStore {
      override putNamespace(): void {
        throw new Error("disk full");
      }
    }
    const registry = await Registry.open({ store: new FailingStore() });
    await expect(registry.createNamespace({ name: "acme" })).rejects.toThrow("disk full");
    expect(registry.listNamespaces()).toEqual([]);
    expect(registry.hasNamespace("acme")).toBe(false);
  });

  it("keeps its own copies: a record changed after it was stored is not changed in the store", async () => {
    const store = new MemoryTenancyStore();
    const ns = { id: "b".repeat(32), name: "acme", description: "", created_on: timestamp(T0), modified_on: timestamp(T0) };
    store.putNamespace(ns);
    ns.description = "changed";
    expect(store.load().namespaces[0]!.description).toBe("");
  });

  it("stores API tokens by id, finds them by hash, and refuses to delete the last one a guard protects", async () => {
    const { registry } = await setup();
    const base = { role: "Admin" as const, namespaces: "*" as const, source: "api" as const, created_on: timestamp(T0) };
    await registry.putApiToken({ ...base, id: "1".repeat(32), name: "one", hash: "1".repeat(64) });
    await registry.putApiToken({ ...base, id: "2".repeat(32), name: "two", hash: "2".repeat(64) });
    expect(await refusal(registry.putApiToken({ ...base, id: "3".repeat(32), name: "dup", hash: "1".repeat(64) }), "conflict")).toMatch(/same secret/);
    const guard = (t: ApiTokenRecord) => t.role === "Admin";
    await registry.deleteApiToken("1".repeat(32), guard);
    expect(registry.apiTokenByHash("1".repeat(64))).toBeUndefined();
    expect(await refusal(registry.deleteApiToken("2".repeat(32), guard), "conflict")).toMatch(/last of its kind/);
    await refusal(registry.deleteApiToken("9".repeat(32)), "not_found");
  });

  it("closes every instance and refuses changes once closed", async () => {
    const { registry } = await withBroker();
    const [c] = await registry.issueCredentials("acme", "sensors", { clientIds: ["dev-1"] });
    const peer = new Peer(registry.broker("acme", "sensors"));
    expect((await peer.connect("dev-1", c!.token)).reasonCode).toBe(0);
    await registry.close();
    expect(await peer.next("disconnect")).toMatchObject({ reasonCode: 0x8b });
    await refusal(registry.createNamespace({ name: "late" }), "unsupported");
  });
});
