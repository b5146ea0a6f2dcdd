// SCRAM (RFC 5802 / RFC 7677): the primitives against the RFC's example,
// and the broker's hook over its AUTH exchange with a client written from the RFC.
import { Broker, type Packet, ReasonCode, rulesHook } from "@edgemq/core";
import { fromBase64, hash, hmac, saltedPassword, scramAuthHook, scramCredential, type ScramCredential, type ScramMechanism, toBase64, xor } from "@edgemq/credentials";
import { describe, expect, it } from "vitest";
import { MemoryPeer } from "../support/memory-peer.ts";
import { ScramClient } from "../support/scram-client.ts";

const enc = new TextEncoder();

describe("SCRAM's primitives", () => {
  it("compute RFC 7677's SCRAM-SHA-256 example: the client's proof and the server's signature", async () => {
    const m = "SCRAM-SHA-256";
    const salt = fromBase64("W22ZaJ0SNY7soEsUEjb6gQ==")!;
    const authMessage = "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const salted = await saltedPassword(m, "pencil", salt, 4096);
    const clientKey = await hmac(m, salted, "Client Key");
    const credential = await scramCredential(m, "pencil", { salt });
    expect(credential.storedKey).toEqual(await hash(m, clientKey));
    const proof = xor(clientKey, await hmac(m, credential.storedKey, authMessage));
    expect(toBase64(proof)).toBe("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    expect(toBase64(await hmac(m, credential.serverKey, authMessage))).toBe("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  });

  it("refuses an iteration count below RFC 7677's 4096", async () => {
    await expect(scramCredential("SCRAM-SHA-256", "pw", { iterations: 1000 })).rejects.toThrow(/at least 4096/);
  });
});

// A broker whose SCRAM users are alice (password "wonderland", both mechanisms).
async function scramBroker(): Promise<Broker> {
  const creds = new Map<ScramMechanism, ScramCredential>();
  for (const m of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) creds.set(m, await scramCredential(m, "wonderland"));
  const broker = new Broker({ now: () => 0, allowAnonymous: false });
  broker.use(scramAuthHook({ lookup: (user, m) => (user === "alice" ? creds.get(m) : undefined) }));
  return broker;
}

// Packets as they come, waiting for the hook's promises.
async function next(peer: MemoryPeer): Promise<Packet[]> {
  for (let i = 0; i < 50; i++) {
    const got = peer.packets();
    if (got.length > 0) return got;
    await new Promise((r) => setTimeout(r, 5));
  }
  return [];
}

async function login(broker: Broker, mechanism: ScramMechanism, user: string, password: string): Promise<{ peer: MemoryPeer; connack: Extract<Packet, { type: "connack" }>; client: ScramClient }> {
  const client = new ScramClient(mechanism, user, password);
  const peer = new MemoryPeer(broker);
  peer.connect("scram-1", { properties: { authenticationMethod: mechanism, authenticationData: client.first() } });
  const [challenge] = await next(peer);
  expect(challenge).toMatchObject({ type: "auth", reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: mechanism } });
  const data = (challenge as Extract<Packet, { type: "auth" }>).properties!.authenticationData!;
  peer.send({ type: "auth", reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: mechanism, authenticationData: await client.final(data) } });
  const [connack] = await next(peer);
  return { peer, connack: connack as Extract<Packet, { type: "connack" }>, client };
}

describe("the SCRAM hook", () => {
  for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
    it(`accepts ${mechanism} with the right password and proves itself in CONNACK's Authentication Data`, async () => {
      const { connack, client } = await login(await scramBroker(), mechanism, "alice", "wonderland");
      expect(connack).toMatchObject({ type: "connack", reasonCode: 0, properties: { authenticationMethod: mechanism } });
      expect(await client.verify(connack.properties?.authenticationData)).toBe(true);
    });
  }

  it("refuses a wrong password and an unknown user alike, with CONNACK 0x87 after the full exchange", async () => {
    const broker = await scramBroker();
    const wrong = await login(broker, "SCRAM-SHA-256", "alice", "looking-glass");
    expect(wrong.connack).toMatchObject({ type: "connack", reasonCode: ReasonCode.NotAuthorized });
    const unknown = await login(broker, "SCRAM-SHA-256", "mallory", "wonderland");
    expect(unknown.connack).toMatchObject({ type: "connack", reasonCode: ReasonCode.NotAuthorized });
    expect(unknown.connack.properties?.reasonString).toBe(wrong.connack.properties?.reasonString);
  });

  it("answers an unknown method with CONNACK 0x8C Bad authentication method", async () => {
    const peer = new MemoryPeer(await scramBroker());
    peer.connect("x", { properties: { authenticationMethod: "SCRAM-SHA-1", authenticationData: enc.encode("n,,n=alice,r=abc") } });
    expect(await next(peer)).toMatchObject([{ type: "connack", reasonCode: ReasonCode.BadAuthenticationMethod }]);
  });

  it("refuses a malformed first message and a final message with another nonce with 0x87", async () => {
    const broker = await scramBroker();
    const bad = new MemoryPeer(broker);
    bad.connect("x", { properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: enc.encode("p=tls-unique,,n=alice,r=abc") } });
    expect(await next(bad)).toMatchObject([{ type: "connack", reasonCode: ReasonCode.NotAuthorized }]);
    const peer = new MemoryPeer(broker);
    peer.connect("y", { properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: enc.encode("n,,n=alice,r=abc") } });
    await next(peer);
    peer.send({ type: "auth", reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: enc.encode("c=biws,r=abcother,p=AAAA") } });
    expect(await next(peer)).toMatchObject([{ type: "connack", reasonCode: ReasonCode.NotAuthorized }]);
  });

  it("re-authenticates a connected client as the same user with AUTH 0x19, and disconnects one that switches method", async () => {
    const broker = await scramBroker();
    const { peer } = await login(broker, "SCRAM-SHA-256", "alice", "wonderland");
    const again = new ScramClient("SCRAM-SHA-256", "alice", "wonderland");
    peer.send({ type: "auth", reasonCode: ReasonCode.ReAuthenticate, properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: again.first() } });
    const [challenge] = await next(peer);
    expect(challenge).toMatchObject({ type: "auth", reasonCode: ReasonCode.ContinueAuthentication });
    peer.send({ type: "auth", reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: await again.final((challenge as Extract<Packet, { type: "auth" }>).properties!.authenticationData!) } });
    const [done] = await next(peer);
    expect(done).toMatchObject({ type: "auth", reasonCode: ReasonCode.Success });
    expect(await again.verify((done as Extract<Packet, { type: "auth" }>).properties?.authenticationData)).toBe(true);
    expect(peer.duplex.closed).toBe(false);
    // Another method than CONNECT's breaks a MUST [MQTT-4.12.1-1]: 0x82 Protocol Error, since
    // 0x8C Bad authentication method is not among DISCONNECT's reason codes (§3.14.2.1).
    peer.send({ type: "auth", reasonCode: ReasonCode.ReAuthenticate, properties: { authenticationMethod: "SCRAM-SHA-512", authenticationData: again.first() } });
    expect(await next(peer)).toMatchObject([{ type: "disconnect", reasonCode: ReasonCode.ProtocolError }]);
  });

  it("disconnects a client that re-authenticates as another user with 0x87, its session untouched", async () => {
    const creds = new Map<string, ScramCredential>([["alice", await scramCredential("SCRAM-SHA-256", "wonderland")], ["bob", await scramCredential("SCRAM-SHA-256", "builder")]]);
    const broker = new Broker({ now: () => 0, allowAnonymous: false });
    broker.use(scramAuthHook({ lookup: (user) => creds.get(user) }));
    const { peer } = await login(broker, "SCRAM-SHA-256", "alice", "wonderland");
    const bob = new ScramClient("SCRAM-SHA-256", "bob", "builder");
    peer.send({ type: "auth", reasonCode: ReasonCode.ReAuthenticate, properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: bob.first() } });
    const [challenge] = await next(peer);
    peer.send({ type: "auth", reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: await bob.final((challenge as Extract<Packet, { type: "auth" }>).properties!.authenticationData!) } });
    expect(await next(peer)).toMatchObject([{ type: "disconnect", reasonCode: ReasonCode.NotAuthorized }]);
    expect(peer.duplex.closed).toBe(true);
  });

  it("makes the SCRAM user the client's user name, so access rules by user name apply without a CONNECT user name", async () => {
    const broker = await scramBroker();
    broker.use(rulesHook({ defaultEffect: "deny", rules: [{ username: "alice", topics: ["users/%u/#"], access: "publish", effect: "allow" }] }));
    const { peer, connack } = await login(broker, "SCRAM-SHA-256", "alice", "wonderland");
    expect(connack.reasonCode).toBe(0);
    peer.send({ type: "publish", topic: "users/alice/x", payload: new Uint8Array(1), qos: 1, packetId: 1, retain: false, dup: false });
    peer.send({ type: "publish", topic: "users/bob/x", payload: new Uint8Array(1), qos: 1, packetId: 2, retain: false, dup: false });
    const acks = await next(peer);
    expect(acks).toMatchObject([{ type: "puback", packetId: 1, reasonCode: ReasonCode.NoMatchingSubscribers }, { type: "puback", packetId: 2, reasonCode: ReasonCode.NotAuthorized }]);
  });

  it("leaves a CONNECT without an authentication method to the other hooks (anonymous here)", async () => {
    const broker = await scramBroker();
    broker.allowAnonymous = true;
    const peer = new MemoryPeer(broker);
    peer.connect("plain");
    expect(await next(peer)).toMatchObject([{ type: "connack", reasonCode: 0 }]);
  });

  it("refuses a replayed client-final (the nonce is new on every exchange) with 0x87", async () => {
    const broker = await scramBroker();
    const client = new ScramClient("SCRAM-SHA-256", "alice", "wonderland");
    const first = new MemoryPeer(broker);
    first.connect("r1", { properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: client.first() } });
    const [challenge] = await next(first);
    const final = await client.final((challenge as Extract<Packet, { type: "auth" }>).properties!.authenticationData!);
    first.send({ type: "auth", reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: final } });
    expect(await next(first)).toMatchObject([{ type: "connack", reasonCode: 0 }]);
    // A listener who saw both messages replays them on a new connection.
    const replay = new MemoryPeer(broker);
    replay.connect("r2", { properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: client.first() } });
    await next(replay);
    replay.send({ type: "auth", reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: final } });
    expect(await next(replay)).toMatchObject([{ type: "connack", reasonCode: ReasonCode.NotAuthorized }]);
  });

  it("refuses truncated and empty Authentication Data with 0x87, and closes on data past the CONNECT size limit", async () => {
    const broker = await scramBroker();
    for (const data of [enc.encode("n,,n=alice"), enc.encode(""), enc.encode("n,,")]) {
      const peer = new MemoryPeer(broker);
      peer.connect("t", { properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: data } });
      expect(await next(peer)).toMatchObject([{ type: "connack", reasonCode: ReasonCode.NotAuthorized }]);
    }
    const big = new MemoryPeer(broker);
    big.connect("big", { properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: new Uint8Array(broker.limits.maximumConnectPacketSize + 1) } });
    await next(big);
    expect(big.duplex.closed).toBe(true);
  });

  it("answers an AUTH before CONNECT by closing without a CONNACK, and an AUTH at 3.1.1 as a malformed packet", async () => {
    const broker = await scramBroker();
    const early = new MemoryPeer(broker);
    early.send({ type: "auth", reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: "SCRAM-SHA-256" } });
    expect(early.packets()).toEqual([]);
    expect(early.duplex.closed).toBe(true); // the first packet must be CONNECT [MQTT-3.1.0-1]
    broker.allowAnonymous = true;
    const old = new MemoryPeer(broker, 4);
    old.connect("v311");
    expect(await next(old)).toMatchObject([{ type: "connack", reasonCode: 0 }]);
    old.duplex.push(Uint8Array.from([0xf0, 0x00])); // packet type 15 is reserved in 3.1.1
    expect(old.duplex.closed).toBe(true);
  });

  it("disconnects a client that starts a second re-authentication while one runs (a bounded storm)", async () => {
    const broker = await scramBroker();
    const { peer } = await login(broker, "SCRAM-SHA-256", "alice", "wonderland");
    const again = new ScramClient("SCRAM-SHA-256", "alice", "wonderland");
    for (let i = 0; i < 3; i++) peer.send({ type: "auth", reasonCode: ReasonCode.ReAuthenticate, properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: again.first() } });
    const got = await next(peer);
    expect(got.find((p) => p.type === "disconnect")).toMatchObject({ type: "disconnect", reasonCode: ReasonCode.ProtocolError });
    expect(peer.duplex.closed).toBe(true);
  });
});
