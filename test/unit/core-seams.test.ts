// Unit tests of the core's three seams, each through a small implementation
// of its own: a multi-step authentication method (AUTH before CONNACK and
// re-authentication), a Routing that joins two brokers in one process, and
// a SessionOwnership that claims slowly and fences.
import { describe, expect, it } from "vitest";
import {
  type AuthResult, Broker, type ClaimRequest, ConnectRefused, type BrokerOptions, type Hook, type LocalRoute, type Message, type OwnershipHandle, type Packet, type Routing,
  MemoryStore, type SessionBacklog, type SessionOwnership, type SessionHandover, type SessionRecord, type SubscriptionEntry, type WillHandle, type WillKeeper,
} from "@edgemq/core";
import { FakeClock } from "../support/fake-clock.ts";
import { MemoryPeer } from "../support/memory-peer.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const flush = () => new Promise((r) => setTimeout(r, 0)); // hooks answer asynchronously

function broker(options: BrokerOptions = {}): Broker {
  return new Broker({ now: new FakeClock().now, limits: { sysInterval: 0 }, ...options });
}

// A toy challenge-response method: the server sends a nonce, the client answers with it reversed.
const TOY = "TOY-REVERSE";
function toyHook(log: string[] = []): Hook {
  const challenge = (nonce: string, then: (ok: boolean) => AuthResult): AuthResult => ({
    continue: true,
    data: enc.encode(nonce),
    next: async (data) => then(data !== undefined && dec.decode(data) === [...nonce].reverse().join("")),
  });
  return {
    name: "toy",
    authenticationMethods: [TOY],
    authenticate: async (ctx) => {
      log.push(`connect ${dec.decode(ctx.packet.properties?.authenticationData ?? new Uint8Array())}`);
      return challenge("abc", (ok) => (ok ? { allow: true, data: enc.encode("welcome"), attributes: { who: "toy" } } : { deny: 0x87, reason: "wrong answer" }));
    },
    reauthenticate: async (ctx) => {
      log.push(`reauth ${ctx.client.clientId}`);
      return challenge("xyz", (ok) => (ok ? { allow: true, data: enc.encode("again") } : { deny: 0x87 }));
    },
  };
}

function auth(reasonCode: number, data?: string, method = TOY): Packet {
  return { type: "auth", reasonCode, properties: { authenticationMethod: method, authenticationData: data === undefined ? undefined : enc.encode(data) } };
}

async function connectWithToy(b: Broker, answer = "cba"): Promise<{ peer: MemoryPeer; packets: Packet[] }> {
  const peer = new MemoryPeer(b);
  peer.connect("dev", { properties: { authenticationMethod: TOY, authenticationData: enc.encode("hello") } });
  await flush();
  const first = peer.packets();
  peer.send(auth(0x18, answer));
  await flush();
  return { peer, packets: [...first, ...peer.packets()] };
}

describe("an authentication hook runs a multi-step exchange before CONNACK", () => {
  it("sends AUTH 0x18 with the hook's data and answers the client's AUTH with CONNACK carrying the method and final data", async () => {
    const log: string[] = [];
    const b = broker({ hooks: [toyHook(log)] });
    const { peer, packets } = await connectWithToy(b);
    expect(packets[0]).toMatchObject({ type: "auth", reasonCode: 0x18, properties: { authenticationMethod: TOY } });
    expect(dec.decode((packets[0] as { properties: { authenticationData: Uint8Array } }).properties.authenticationData)).toBe("abc");
    expect(packets[1]).toMatchObject({ type: "connack", reasonCode: 0, properties: { authenticationMethod: TOY } });
    expect(dec.decode((packets[1] as { properties: { authenticationData: Uint8Array } }).properties.authenticationData)).toBe("welcome");
    expect(log).toEqual(["connect hello"]);
    expect(b.clients("dev")[0]?.attributes).toEqual({ who: "toy" });
    expect(peer.duplex.closed).toBe(false);
  });

  it("refuses a wrong answer with the hook's reason code and closes", async () => {
    const b = broker({ hooks: [toyHook()] });
    const { peer, packets } = await connectWithToy(b, "abc");
    expect(packets.map((p) => p.type)).toEqual(["auth", "connack"]);
    expect(packets[1]).toMatchObject({ reasonCode: 0x87 });
    expect(peer.duplex.closed).toBe(true);
    expect(b.sessionCount).toBe(0);
  });

  it("refuses a method no hook runs with 0x8C, even when another method is offered", async () => {
    const b = broker({ hooks: [toyHook()] });
    const peer = new MemoryPeer(b);
    peer.connect("dev", { properties: { authenticationMethod: "SCRAM-SHA-1" } });
    await flush();
    expect(peer.packets()).toMatchObject([{ type: "connack", reasonCode: 0x8c }]);
    expect(peer.duplex.closed).toBe(true);
  });

  it("treats a packet other than AUTH during the exchange as a protocol error", async () => {
    const b = broker({ hooks: [toyHook()] });
    const peer = new MemoryPeer(b);
    peer.connect("dev", { properties: { authenticationMethod: TOY } });
    await flush();
    expect(peer.packets()).toMatchObject([{ type: "auth", reasonCode: 0x18 }]);
    peer.send({ type: "pingreq" });
    await flush();
    expect(peer.packets()).toMatchObject([{ type: "connack", reasonCode: 0x82 }]);
    expect(peer.duplex.closed).toBe(true);
  });

  it("does not let anonymous access stand in for an exchange nobody completed", async () => {
    const quiet: Hook = { name: "quiet", authenticationMethods: [TOY], authenticate: async (): Promise<AuthResult> => "next" };
    const b = broker({ hooks: [quiet], allowAnonymous: true });
    const peer = new MemoryPeer(b);
    peer.connect("dev", { properties: { authenticationMethod: TOY } });
    await flush();
    expect(peer.packets()).toMatchObject([{ type: "connack", reasonCode: 0x87 }]);
  });
});

describe("a connected client re-authenticates with AUTH 0x19", () => {
  it("runs the hook's steps and answers AUTH 0x00, keeping the session and its subscriptions", async () => {
    const log: string[] = [];
    const b = broker({ hooks: [toyHook(log)] });
    const { peer } = await connectWithToy(b);
    peer.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "t/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await flush();
    peer.packets();
    peer.send(auth(0x19, "again please"));
    await flush();
    expect(peer.packets()).toMatchObject([{ type: "auth", reasonCode: 0x18 }]);
    peer.send(auth(0x18, "zyx"));
    await flush();
    expect(peer.packets()).toMatchObject([{ type: "auth", reasonCode: 0, properties: { authenticationMethod: TOY } }]);
    expect(log).toEqual(["connect hello", "reauth dev"]);
    expect(b.subscriptions("dev")).toHaveLength(1);
    expect(peer.duplex.closed).toBe(false);
  });

  it("disconnects with the hook's reason code when re-authentication fails", async () => {
    const b = broker({ hooks: [toyHook()] });
    const { peer } = await connectWithToy(b);
    peer.send(auth(0x19));
    await flush();
    peer.packets();
    peer.send(auth(0x18, "nope"));
    await flush();
    expect(peer.packets()).toMatchObject([{ type: "disconnect", reasonCode: 0x87 }]);
    expect(peer.duplex.closed).toBe(true);
  });

  it("disconnects with 0x82 when re-authentication names another method (0x8C is not a DISCONNECT reason code)", async () => {
    const b = broker({ hooks: [toyHook()] });
    const { peer } = await connectWithToy(b);
    peer.send(auth(0x19, undefined, "OTHER"));
    await flush();
    expect(peer.packets()).toMatchObject([{ type: "disconnect", reasonCode: 0x82 }]);
  });

  it("treats AUTH from a client that connected without a method as a protocol error, as before", async () => {
    const b = broker();
    const peer = new MemoryPeer(b);
    peer.connect("plain");
    await flush();
    peer.packets();
    peer.send(auth(0x19));
    await flush();
    expect(peer.packets()).toMatchObject([{ type: "disconnect", reasonCode: 0x82 }]);
  });
});

// Two brokers in one process joined by a Routing: a message accepted on one reaches
// the other's non-shared subscribers; share groups are served where it was accepted.
class PairedRouting implements Routing {
  peer: PairedRouting | undefined;
  readonly local: LocalRoute;
  readonly interest: string[] = [];
  constructor(local: LocalRoute) {
    this.local = local;
  }
  route(message: Message, commits: Promise<unknown>[]): number {
    this.peer?.local.route(message, [], "non-shared");
    return this.local.route(message, commits, "all");
  }
  subscribed(entry: SubscriptionEntry): void {
    this.interest.push(`+${entry.topicFilter}`);
  }
  unsubscribed(entry: SubscriptionEntry): void {
    this.interest.push(`-${entry.topicFilter}`);
  }
}

function pair(): { a: Broker; b: Broker; ra: PairedRouting; rb: PairedRouting } {
  let ra!: PairedRouting, rb!: PairedRouting;
  const a = broker({ name: "a", routing: (l) => (ra = new PairedRouting(l)) });
  const b = broker({ name: "b", routing: (l) => (rb = new PairedRouting(l)) });
  ra.peer = rb;
  rb.peer = ra;
  return { a, b, ra, rb };
}

async function connected(b: Broker, clientId: string, filters: [string, 0 | 1 | 2][] = []): Promise<MemoryPeer> {
  const peer = new MemoryPeer(b);
  peer.connect(clientId);
  await flush();
  if (filters.length > 0) {
    peer.send({ type: "subscribe", packetId: 1, subscriptions: filters.map(([topicFilter, qos]) => ({ topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 as const })) });
    await flush();
  }
  peer.packets();
  return peer;
}

const publishes = (packets: Packet[]) => packets.filter((p): p is Extract<Packet, { type: "publish" }> => p.type === "publish");

describe("the routing seam carries accepted messages to another broker", () => {
  it("tells the routing of every subscription made and ended, and delivers across in the publisher's order", async () => {
    const { a, b, rb } = pair();
    const sub = await connected(b, "sub", [["x/#", 1]]);
    const pub = await connected(a, "pub");
    for (let i = 0; i < 5; i++) pub.send({ type: "publish", topic: `x/${i}`, payload: enc.encode(String(i)), qos: 1, retain: false, dup: false, packetId: i + 1 });
    await flush();
    const got = publishes(sub.packets());
    expect(got.map((p) => dec.decode(p.payload))).toEqual(["0", "1", "2", "3", "4"]);
    // No subscriber on a: the publisher hears 0x10 No matching subscribers, judged locally.
    expect(pub.packets().map((p) => (p as { reasonCode: number }).reasonCode)).toEqual([0x10, 0x10, 0x10, 0x10, 0x10]);
    sub.send({ type: "unsubscribe", packetId: 2, topicFilters: ["x/#"] });
    await flush();
    expect(rb.interest).toEqual(["+x/#", "-x/#"]);
  });

  it("still merges one client's overlapping subscriptions into one delivery at the highest QoS on the other broker", async () => {
    const { a, b } = pair();
    const sub = await connected(b, "sub", [["x/+", 0], ["x/#", 2]]);
    const pub = await connected(a, "pub");
    pub.send({ type: "publish", topic: "x/y", payload: enc.encode("m"), qos: 2, retain: false, dup: false, packetId: 9 });
    await flush();
    const got = publishes(sub.packets());
    expect(got).toHaveLength(1);
    expect(got[0]!.qos).toBe(2);
  });

  it("holds the SUBACK until the promise the routing returned for the new interest resolves", async () => {
    let ready!: () => void;
    const seen: string[] = [];
    const b = broker({
      routing: (local) => ({
        route: (message, commits) => local.route(message, commits, "all"),
        subscribed: (entry) => {
          seen.push(entry.topicFilter);
          return new Promise<void>((r) => (ready = r));
        },
        unsubscribed: () => {},
      }),
    });
    const peer = await connected(b, "sub");
    peer.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "x/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await flush();
    expect(seen).toEqual(["x/#"]);
    expect(peer.packets()).toEqual([]);
    ready();
    await flush();
    expect(peer.packets()).toMatchObject([{ type: "suback", packetId: 1, reasonCodes: [1] }]);
  });

  it("gives a share group one copy, served where the message was accepted", async () => {
    const { a, b } = pair();
    const m1 = await connected(a, "m1", [["$share/g/x", 0]]);
    const m2 = await connected(b, "m2", [["$share/g/x", 0]]);
    const pub = await connected(a, "pub");
    pub.send({ type: "publish", topic: "x", payload: enc.encode("once"), qos: 0, retain: false, dup: false });
    await flush();
    expect(publishes(m1.packets()).length + publishes(m2.packets()).length).toBe(1);
  });

  it("serves only the named share group when a shared pass is narrowed to one group and filter", async () => {
    let local!: LocalRoute;
    const b = broker({ routing: (l) => ((local = l), { route: (m, c) => l.route(m, c, "non-shared"), subscribed: () => {}, unsubscribed: () => {} }) });
    const g = await connected(b, "g", [["$share/g/x/+", 0]]);
    const gOther = await connected(b, "g-other-filter", [["$share/g/x/#", 0]]);
    const h = await connected(b, "h", [["$share/h/x/+", 0]]);
    const plain = await connected(b, "plain", [["x/+", 0]]);
    const message: Message = { topic: "x/y", payload: enc.encode("m"), qos: 0, retain: false, properties: undefined, expiresAt: undefined, senderId: "elsewhere", receivedAt: Date.now() };
    expect(local.route(message, [], "shared", { group: "g", filter: "x/+" })).toBe(1);
    expect(local.route(message, [], "shared", { group: "g", filter: "x/y" })).toBe(0);
    await flush();
    expect([g, gOther, h, plain].map((p) => publishes(p.packets()).length)).toEqual([1, 0, 0, 0]);
    // Not narrowed, a shared pass serves every group (one member each) and no plain subscriber.
    expect(local.route(message, [], "shared")).toBe(3);
  });
});

describe("a routing that cannot make messages durable now (a cluster node cut off from NATS)", () => {
  function outage(): { b: Broker; routing: { acceptsDurable: boolean } } {
    const routing = { acceptsDurable: false };
    const b = broker({ routing: (l) => Object.assign(routing, { route: (m: Message, c: Promise<unknown>[]) => l.route(m, c, "all"), subscribed: () => {}, unsubscribed: () => {} }) });
    return { b, routing };
  }

  it("refuses a 5.0 QoS 1 and 2 PUBLISH with PUBACK and PUBREC 0x83 and a reason string, delivers QoS 0, and accepts again once it can", async () => {
    const { b, routing } = outage();
    const sub = await connected(b, "sub", [["x", 2]]);
    const pub = await connected(b, "pub");
    pub.send({ type: "publish", topic: "x", payload: enc.encode("one"), qos: 1, retain: false, dup: false, packetId: 1 });
    pub.send({ type: "publish", topic: "x", payload: enc.encode("two"), qos: 2, retain: false, dup: false, packetId: 2 });
    pub.send({ type: "publish", topic: "x", payload: enc.encode("zero"), qos: 0, retain: false, dup: false });
    await flush();
    expect(pub.packets()).toMatchObject([
      { type: "puback", packetId: 1, reasonCode: 0x83, properties: { reasonString: expect.stringMatching(/NATS\) is unreachable/) } },
      { type: "pubrec", packetId: 2, reasonCode: 0x83 },
    ]);
    expect(publishes(sub.packets()).map((p) => dec.decode(p.payload))).toEqual(["zero"]);
    expect(b.stats.unavailable).toBe(2);
    routing.acceptsDurable = true;
    pub.send({ type: "publish", topic: "x", payload: enc.encode("one"), qos: 1, retain: false, dup: false, packetId: 1 });
    await flush();
    expect(pub.packets()).toMatchObject([{ type: "puback", packetId: 1, reasonCode: 0 }]);
    expect(publishes(sub.packets()).map((p) => dec.decode(p.payload))).toEqual(["one"]);
  });

  it("closes a 3.1.1 connection without acknowledging a QoS 1 PUBLISH, which it has no negative acknowledgement for", async () => {
    const { b } = outage();
    const pub = new MemoryPeer(b, 4);
    pub.connect("pub311");
    await flush();
    pub.packets();
    pub.send({ type: "publish", topic: "x", payload: enc.encode("one"), qos: 1, retain: false, dup: false, packetId: 1 });
    await flush();
    expect(pub.packets()).toEqual([]);
    expect(pub.duplex.closed).toBe(true);
  });
});

// An ownership that claims asynchronously and records what it was told.
class SlowOwnership implements SessionOwnership {
  handle: OwnershipHandle | undefined;
  readonly released: string[] = [];
  resolve: ((handover?: SessionHandover) => void) | undefined;
  readonly resumes: boolean[] = [];
  bind(handle: OwnershipHandle): void {
    this.handle = handle;
  }
  reject: ((e: unknown) => void) | undefined;
  claim(_clientId: string, request: ClaimRequest): Promise<SessionHandover | void> {
    this.resumes.push(request.resume);
    return new Promise<SessionHandover | void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
  release(clientId: string): void {
    this.released.push(clientId);
  }
}

describe("the session ownership seam claims before CONNACK and fences", () => {
  it("holds the CONNACK until the claim resolves", async () => {
    const ownership = new SlowOwnership();
    const b = broker({ ownership });
    const peer = new MemoryPeer(b);
    peer.connect("dev");
    await flush();
    expect(peer.packets()).toEqual([]);
    ownership.resolve!();
    await flush();
    expect(peer.packets()).toMatchObject([{ type: "connack", reasonCode: 0 }]);
  });

  it("holds the CONNACK of a lasting session until the claim resolves, though the store saved it first", async () => {
    const ownership = new SlowOwnership();
    // A durable store answers its writes with a promise (SQLite commits in a window).
    class CommittingStore extends MemoryStore {
      override saveSession(record: SessionRecord): Promise<void> {
        super.saveSession(record);
        return Promise.resolve();
      }
    }
    const b = broker({ ownership, store: new CommittingStore() });
    const peer = new MemoryPeer(b);
    peer.connect("lasting", { cleanStart: false, properties: { sessionExpiryInterval: 60 } });
    await flush();
    expect(peer.packets()).toEqual([]);
    ownership.resolve!();
    await flush();
    expect(peer.packets()).toMatchObject([{ type: "connack", reasonCode: 0 }]);
  });

  it("takes a session over when another node claims it: DISCONNECT 0x8E and the local copy is gone", async () => {
    const ownership = new SlowOwnership();
    const b = broker({ ownership });
    const peer = new MemoryPeer(b);
    peer.connect("dev", { cleanStart: false, properties: { sessionExpiryInterval: 60 } });
    await flush();
    ownership.resolve!();
    await flush();
    peer.packets();
    expect(ownership.handle!.fence("dev")).toBe(true);
    expect(peer.packets()).toMatchObject([{ type: "disconnect", reasonCode: 0x8e }]);
    expect(peer.duplex.closed).toBe(true);
    expect(b.sessionCount).toBe(0);
    expect(ownership.handle!.fence("dev")).toBe(false);
  });

  it("refuses the CONNECT with the reason code of a claim refused (0x87: another user's session elsewhere), and keeps no session of its own for the id", async () => {
    const ownership = new SlowOwnership();
    const b = broker({ ownership });
    const peer = new MemoryPeer(b);
    peer.connect("theirs", { cleanStart: false, username: "mallory", properties: { sessionExpiryInterval: 60 } });
    await flush();
    ownership.reject!(new ConnectRefused(0x87, "this client id's session belongs to another user"));
    await flush();
    expect(peer.packets()).toMatchObject([{ type: "connack", reasonCode: 0x87, properties: { reasonString: "this client id's session belongs to another user" } }]);
    expect(peer.duplex.closed).toBe(true);
    expect(b.sessionCount).toBe(0);
  });

  it("releases a session that ends with its connection", async () => {
    const ownership = new SlowOwnership();
    const b = broker({ ownership });
    const peer = new MemoryPeer(b);
    peer.connect("brief");
    await flush();
    ownership.resolve!();
    await flush();
    peer.send({ type: "disconnect", reasonCode: 0 });
    expect(ownership.released).toEqual(["brief"]);
  });
});

// A will keeper that records what it is told and holds each due will until the test lets it go.
class HeldWills implements WillKeeper {
  handle: WillHandle | undefined;
  readonly log: string[] = [];
  readonly due = new Map<string, () => void>();
  bind(handle: WillHandle): void {
    this.handle = handle;
  }
  kept(clientId: string, will: { topic: string }): void {
    this.log.push(`kept ${clientId} ${will.topic}`);
  }
  waiting(clientId: string): void {
    this.log.push(`waiting ${clientId}`);
  }
  ended(clientId: string): void {
    this.log.push(`ended ${clientId}`);
  }
  release(clientId: string, publish: () => void): void {
    this.log.push(`release ${clientId}`);
    this.due.set(clientId, publish);
  }
}

describe("the will seam lets a cluster keep wills beyond this broker and decide when a due one goes", () => {
  const will = { topic: "gone/w", payload: enc.encode("bye"), qos: 0 as const, retain: false };
  async function withWatcher(wills: HeldWills, clock = new FakeClock()) {
    const b = new Broker({ now: clock.now, limits: { sysInterval: 0 }, wills });
    const watcher = await connected(b, "watcher", [["gone/#", 0]]);
    return { b, watcher, clock };
  }

  it("records a connection's will, and publishes a due one only when the keeper lets it go", async () => {
    const wills = new HeldWills();
    const { b, watcher } = await withWatcher(wills);
    const peer = new MemoryPeer(b);
    peer.connect("dev", { will });
    await flush();
    expect(wills.log).toEqual(["kept dev gone/w"]);
    peer.duplex.sink!.end(); // the socket ends without DISCONNECT
    expect(wills.log).toEqual(["kept dev gone/w", "release dev"]);
    expect(publishes(watcher.packets())).toEqual([]);
    wills.due.get("dev")!();
    expect(publishes(watcher.packets()).map((p) => dec.decode(p.payload))).toEqual(["bye"]);
  });

  it("tells the keeper of a will discarded by DISCONNECT 0x00, and of one waiting for its delay and then cancelled by a new connection", async () => {
    const wills = new HeldWills();
    const { b, watcher } = await withWatcher(wills);
    const one = new MemoryPeer(b);
    one.connect("a", { will });
    await flush();
    one.send({ type: "disconnect", reasonCode: 0 });
    expect(wills.log).toEqual(["kept a gone/w", "ended a"]);
    const two = new MemoryPeer(b);
    two.connect("b", { cleanStart: false, properties: { sessionExpiryInterval: 60 }, will: { ...will, properties: { willDelayInterval: 30 } } });
    await flush();
    two.duplex.sink!.end();
    const back = new MemoryPeer(b);
    back.connect("b", { cleanStart: false, properties: { sessionExpiryInterval: 60 } });
    await flush();
    expect(wills.log.slice(2)).toEqual(["kept b gone/w", "waiting b", "ended b"]);
    expect(publishes(watcher.packets())).toEqual([]);
  });

  it("drops a will another node published: the connection's, and a session's that waits for its delay", async () => {
    const wills = new HeldWills();
    const { b, watcher, clock } = await withWatcher(wills);
    const live = new MemoryPeer(b);
    live.connect("live", { will });
    const away = new MemoryPeer(b);
    away.connect("away", { cleanStart: false, properties: { sessionExpiryInterval: 60 }, will: { ...will, properties: { willDelayInterval: 5 } } });
    await flush();
    away.duplex.sink!.end();
    wills.handle!.dropWill("live");
    wills.handle!.dropWill("away");
    live.duplex.sink!.end();
    clock.advance(10_000);
    b.tick();
    expect(wills.log.filter((l) => l.startsWith("release"))).toEqual([]);
    expect(publishes(watcher.packets())).toEqual([]);
    // And one recorded on another node goes through this broker as its client's PUBLISH.
    wills.handle!.publishWill(will, { clientId: "elsewhere", username: undefined, protocolVersion: 5, conn: live.duplex.info, attributes: {} });
    expect(publishes(watcher.packets()).map((p) => p.topic)).toEqual(["gone/w"]);
  });
});

describe("a claim that resumes brings the session the old holder hands over", () => {
  // Node X holds "mover": a lasting session with a subscription, one QoS 1 message in flight (never acknowledged), one queued,
  // and an inbound QoS 2 PUBLISH that waits for PUBREL; its client has gone.
  async function heldOnX(): Promise<{ x: Broker; xOwnership: SlowOwnership }> {
    const xOwnership = new SlowOwnership();
    const x = broker({ ownership: xOwnership, limits: { sysInterval: 0, maximumQueuedMessages: 100 } });
    const client = new MemoryPeer(x);
    client.connect("mover", { cleanStart: false, properties: { sessionExpiryInterval: 60, receiveMaximum: 1 } });
    await flush();
    xOwnership.resolve!();
    await flush();
    client.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "m/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }], properties: { subscriptionIdentifier: 9 } });
    client.send({ type: "publish", topic: "in/q2", payload: enc.encode("once"), qos: 2, retain: false, dup: false, packetId: 7 });
    x.publish({ topic: "m/1", payload: enc.encode("first"), qos: 1, retain: false, properties: undefined, expiresAt: undefined, senderId: "", receivedAt: 0 });
    x.publish({ topic: "m/2", payload: enc.encode("second"), qos: 1, retain: false, properties: undefined, expiresAt: undefined, senderId: "", receivedAt: 0 });
    await flush();
    expect(client.packets().map((p) => p.type)).toEqual(["connack", "suback", "pubrec", "publish"]); // Receive Maximum 1: "second" waits
    client.duplex.close();
    await flush();
    return { x, xOwnership };
  }

  it("hands the session over to the claiming node: Session Present, the subscription, the in-flight message resent with DUP, the queue, and PUBREL state", async () => {
    const { x, xOwnership } = await heldOnX();
    const handover = xOwnership.handle!.handOver("mover", true)!;
    expect(x.sessionCount).toBe(0);
    expect(handover.record.subscriptions.map((sub) => sub.topicFilter)).toEqual(["m/#"]);
    expect(handover.outgoing.map((r) => [dec.decode(r.message.payload), r.packetId !== 0])).toEqual([["first", true], ["second", false]]);
    expect(handover.inboundQos2).toEqual([7]);

    const yOwnership = new SlowOwnership();
    const y = broker({ ownership: yOwnership });
    const peer = new MemoryPeer(y);
    peer.connect("mover", { cleanStart: false, properties: { sessionExpiryInterval: 60 } });
    await flush();
    expect(yOwnership.resumes).toEqual([true]);
    yOwnership.resolve!(handover);
    await flush();
    const packets = peer.packets();
    expect(packets[0]).toMatchObject({ type: "connack", sessionPresent: true, reasonCode: 0 });
    expect(packets.slice(1)).toMatchObject([
      { type: "publish", topic: "m/1", dup: true, qos: 1 }, // [MQTT-4.4.0-1]
      { type: "publish", topic: "m/2", dup: false, qos: 1, properties: { subscriptionIdentifiers: [9] } },
    ]);
    // The resent QoS 2 PUBLISH is acknowledged, not delivered again; PUBREL completes it.
    peer.send({ type: "publish", topic: "in/q2", payload: enc.encode("once"), qos: 2, retain: false, dup: true, packetId: 7 });
    peer.send({ type: "pubrel", packetId: 7, reasonCode: 0 });
    await flush();
    expect(peer.packets()).toMatchObject([{ type: "pubrec", packetId: 7 }, { type: "pubcomp", packetId: 7 }]);
    expect(y.stats.messagesReceived).toBe(0);
    // The subscription lives on the new node.
    y.publish({ topic: "m/3", payload: enc.encode("third"), qos: 0, retain: false, properties: undefined, expiresAt: undefined, senderId: "", receivedAt: 0 });
    expect(peer.packets()).toMatchObject([{ type: "publish", topic: "m/3" }]);
  });

  it("hands nothing over for a Clean Start, and the claiming node starts a new session", async () => {
    const { xOwnership } = await heldOnX();
    expect(xOwnership.handle!.handOver("mover", false)).toBeUndefined();
    expect(xOwnership.handle!.handOver("mover", true)).toBeUndefined(); // forgotten already
    const yOwnership = new SlowOwnership();
    const peer = new MemoryPeer(broker({ ownership: yOwnership }));
    peer.connect("mover", { cleanStart: true });
    await flush();
    expect(yOwnership.resumes).toEqual([false]);
    yOwnership.resolve!();
    await flush();
    expect(peer.packets()).toMatchObject([{ type: "connack", sessionPresent: false }]);
  });

  it("does not adopt a session that belongs to another user, unless any identity may take sessions over", async () => {
    const { xOwnership } = await heldOnX();
    const handover = xOwnership.handle!.handOver("mover", true)!;
    handover.record.client = { ...handover.record.client!, username: "alice" };
    const yOwnership = new SlowOwnership();
    const peer = new MemoryPeer(broker({ ownership: yOwnership }));
    peer.connect("mover", { cleanStart: false, username: "mallory", properties: { sessionExpiryInterval: 60 } });
    await flush();
    yOwnership.resolve!(handover);
    await flush();
    expect(peer.packets()).toMatchObject([{ type: "connack", sessionPresent: false }]);
  });
});

describe("a cluster's ownership keeps session records, and adopts a gone node's session", () => {
  // An ownership that records what the broker saved of each lasting session.
  class RecordingOwnership extends SlowOwnership {
    readonly records: SessionRecord[] = [];
    recordSession(record: SessionRecord): Promise<void> {
      this.records.push(record);
      return Promise.resolve();
    }
  }

  it("hands every saved record of a lasting session to the ownership: at connect, at SUBSCRIBE and at disconnect", async () => {
    const ownership = new RecordingOwnership();
    const b = broker({ ownership });
    const peer = new MemoryPeer(b);
    peer.connect("kept", { cleanStart: false, properties: { sessionExpiryInterval: 60 } });
    await flush();
    ownership.resolve!();
    await flush();
    peer.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "k/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await flush();
    peer.send({ type: "disconnect", reasonCode: 0 });
    expect(ownership.records.map((r) => [r.subscriptions.length, r.disconnectedAt !== undefined])).toEqual([[0, false], [1, false], [1, true]]);
    expect(b.store.name).toBe("memory"); // the store it wraps still names itself
  });

  it("adopts a record as an offline session that queues what it is subscribed to, then resumes it for its client", async () => {
    const ownership = new SlowOwnership();
    const b = broker({ ownership });
    const record: SessionRecord = {
      clientId: "orphan", expiryInterval: 300, will: undefined, disconnectedAt: b.now(),
      subscriptions: [{ clientId: "orphan", topicFilter: "o/#", filter: "o/#", shareGroup: undefined, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionIdentifier: undefined }],
    };
    expect(ownership.handle!.adopt(record)).toBe(true);
    expect(ownership.handle!.adopt(record)).toBe(false); // held already
    b.publish({ topic: "o/1", payload: enc.encode("meanwhile"), qos: 1, retain: false, properties: undefined, expiresAt: undefined, senderId: "", receivedAt: 0 });
    const peer = new MemoryPeer(b);
    peer.connect("orphan", { cleanStart: false, properties: { sessionExpiryInterval: 300 } });
    await flush();
    ownership.resolve!();
    await flush();
    expect(peer.packets()).toMatchObject([{ type: "connack", sessionPresent: true }, { type: "publish", topic: "o/1" }]);
  });

  // A message as the cluster reads one back from its stream.
  const missed = (topic: string, text: string, qos: 0 | 1 | 2, senderId = ""): Message => ({
    topic, payload: enc.encode(text), qos, retain: false, properties: undefined, expiresAt: undefined, senderId, receivedAt: 0,
  });
  const orphanRecord = (b: Broker, noLocal = false): SessionRecord => ({
    clientId: "orphan", expiryInterval: 300, will: undefined, disconnectedAt: b.now(),
    subscriptions: [{ clientId: "orphan", topicFilter: "o/#", filter: "o/#", shareGroup: undefined, qos: 1, noLocal, retainAsPublished: false, retainHandling: 0, subscriptionIdentifier: 4 }],
  });

  it("queues the backlog an adopted session missed through its own subscriptions, ahead of what reached it live while it was read", async () => {
    const ownership = new SlowOwnership();
    const b = broker({ ownership });
    const other = new MemoryPeer(b);
    other.connect("bystander");
    await flush();
    ownership.resolve!();
    await flush();
    other.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await flush();
    other.packets();
    let release!: () => void;
    const backlog: SessionBacklog = async (deliver) => {
      deliver(missed("o/1", "missed 1", 2));
      await new Promise<void>((r) => (release = r));
      deliver(missed("x/1", "not subscribed", 1));
      deliver(missed("o/2", "missed 2", 1));
    };
    expect(ownership.handle!.adopt(orphanRecord(b), backlog)).toBe(true);
    // Published live while the backlog is still being read.
    b.publish(missed("o/3", "live", 1));
    release();
    await flush();
    // The backlog went to the orphan alone: the bystander, subscribed to everything, got only the live message.
    expect(publishes(other.packets()).map((p) => dec.decode(p.payload))).toEqual(["live"]);
    const peer = new MemoryPeer(b);
    peer.connect("orphan", { cleanStart: false, properties: { sessionExpiryInterval: 300 } });
    await flush();
    ownership.resolve!();
    await flush();
    const got = publishes(peer.packets());
    expect(got.map((p) => dec.decode(p.payload))).toEqual(["missed 1", "missed 2", "live"]);
    // At the subscription's QoS (1, though the message was 2), with its identifier.
    expect(got.map((p) => [p.qos, p.properties?.subscriptionIdentifiers])).toEqual([[1, [4]], [1, [4]], [1, [4]]]);
  });

  it("does not queue again at QoS 2 a backlog message the session was sent at QoS 2 already, but does at a lower QoS, and carries on the QoS 2 exchanges it held", async () => {
    const ownership = new SlowOwnership();
    const b = broker({ ownership });
    const record: SessionRecord = {
      ...orphanRecord(b),
      subscriptions: [{ clientId: "orphan", topicFilter: "o/#", filter: "o/#", shareGroup: undefined, qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionIdentifier: undefined }],
    };
    const held = { message: { ...missed("o/0", "in flight", 2), origin: "n\u00001\u00007" }, qos: 2 as const, retain: false, subscriptionIdentifiers: undefined, packetId: 9, state: "publish" as const };
    const backlog: SessionBacklog = async (deliver) => {
      deliver(missed("o/1", "sent at QoS 2", 2), true);
      deliver(missed("o/2", "QoS 1, marked", 1), true);
      deliver(missed("o/3", "not sent", 2), false);
    };
    expect(ownership.handle!.adopt(record, backlog, { outgoing: [held], inboundQos2: [33] })).toBe(true);
    await flush();
    const peer = new MemoryPeer(b);
    peer.connect("orphan", { cleanStart: false, properties: { sessionExpiryInterval: 300 } });
    await flush();
    ownership.resolve!();
    await flush();
    const got = publishes(peer.packets());
    // The held one first, with DUP and its packet id [MQTT-4.4.0-1]; then what was not sent at QoS 2 [MQTT-4.3.3-2]
    expect(got.map((p) => [dec.decode(p.payload), p.qos, p.dup, p.qos === 2 && p.packetId === 9])).toEqual([
      ["in flight", 2, true, true], ["QoS 1, marked", 1, false, false], ["not sent", 2, false, false],
    ]);
    // The inbound id came along: its PUBREL is answered 0x00, not 0x92.
    peer.send({ type: "pubrel", packetId: 33, reasonCode: 0 });
    await flush();
    expect(peer.packets()).toEqual([expect.objectContaining({ type: "pubcomp", packetId: 33, reasonCode: 0 })]);
  });

  it("tells the ownership how many lasting sessions are connected and when the earliest message they have not acknowledged arrived", async () => {
    const ownership = new SlowOwnership();
    const b = broker({ ownership });
    expect(ownership.handle!.pending()).toEqual({ connected: 0, oldest: undefined });
    const lasting = new MemoryPeer(b);
    lasting.connect("keeps", { cleanStart: false, properties: { sessionExpiryInterval: 60 } });
    await flush();
    ownership.resolve!();
    await flush();
    const brief = new MemoryPeer(b);
    brief.connect("brief"); // ends with its connection: not counted
    await flush();
    ownership.resolve!();
    await flush();
    expect(ownership.handle!.pending()).toEqual({ connected: 1, oldest: undefined });
    lasting.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "p/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await flush();
    b.publish({ ...missed("p/1", "unacknowledged", 1), receivedAt: 1234 });
    await flush();
    expect(ownership.handle!.pending()).toEqual({ connected: 1, oldest: 1234 });
    const sent = publishes(lasting.packets())[0]!;
    lasting.send({ type: "puback", packetId: sent.packetId!, reasonCode: 0 });
    await flush();
    expect(ownership.handle!.pending()).toEqual({ connected: 1, oldest: undefined });
  });

  it("queues a resumed session's backlog before CONNACK, and keeps No Local for its own messages", async () => {
    const ownership = new SlowOwnership();
    const b = broker({ ownership });
    const peer = new MemoryPeer(b);
    peer.connect("orphan", { cleanStart: false, properties: { sessionExpiryInterval: 300 } });
    await flush();
    let release!: () => void;
    const backlog: SessionBacklog = async (deliver) => {
      await new Promise<void>((r) => (release = r));
      deliver(missed("o/1", "its own", 1, "orphan"));
      deliver(missed("o/2", "from another", 1, "someone"));
    };
    ownership.resolve!({ record: orphanRecord(b, true), outgoing: [], inboundQos2: [], backlog });
    await flush();
    expect(peer.packets(), "no CONNACK while the backlog is read").toEqual([]);
    release();
    await flush();
    const packets = peer.packets();
    expect(packets[0]).toMatchObject({ type: "connack", sessionPresent: true });
    expect(publishes(packets).map((p) => dec.decode(p.payload))).toEqual(["from another"]);
  });
});
