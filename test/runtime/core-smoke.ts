// Imports packages/core on whatever runtime runs this file and drives one
// MQTT exchange through the broker in memory; prints a JSON line of results.
// Run with no permissions at all on Deno: the core needs none.
import { Broker, decodePacket, encodePacket, FrameDecoder, type Packet } from "../../packages/core/src/mod.ts";
import { MemoryDuplex } from "../../packages/core/src/testing.ts";

const enc = new TextEncoder();
let clock = 1_000;
const broker = new Broker({ now: () => clock, limits: { sysInterval: 0 } });

function peer(): { duplex: MemoryDuplex; packets(): Packet[] } {
  const duplex = new MemoryDuplex();
  duplex.sink = broker.accept(duplex);
  const decoder = new FrameDecoder({ protocolVersion: 5 });
  return {
    duplex,
    packets() {
      for (const chunk of duplex.take()) decoder.push(chunk);
      const out: Packet[] = [];
      for (let p = decoder.next(); p; p = decoder.next()) out.push(p);
      return out;
    },
  };
}

const sub = peer(), pub = peer();
for (const [p, id] of [[sub, "sub"], [pub, "pub"]] as const) {
  p.duplex.push(encodePacket({ type: "connect", protocolName: "MQTT", protocolVersion: 5, cleanStart: true, keepAlive: 10, clientId: id }));
}
await new Promise((r) => setTimeout(r, 0)); // authentication answers on a later turn
sub.duplex.push(encodePacket({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "rt/+", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] }));
pub.duplex.push(encodePacket({ type: "publish", topic: "rt/x", payload: enc.encode("hello"), qos: 1, retain: false, dup: false, packetId: 7 }));
const got = sub.packets().map((p) => p.type);
const acks = pub.packets().map((p) => p.type);
clock += 16_000; // past 1.5 x keep alive: the broker's clock is the one given, not the runtime's
broker.tick();
const roundTrip = decodePacket(encodePacket({ type: "pingreq" })).type;
console.log(JSON.stringify({ got, acks, closedByKeepAlive: sub.duplex.closed, roundTrip }));
