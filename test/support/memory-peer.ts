// A client of a core Broker over an in-memory duplex, for unit tests of the
// machine: packets go in as bytes, decoded packets come out.
import { type Broker, encodePacket, FrameDecoder, type Packet, type ProtocolVersion } from "@edgemq/core";
import { MemoryDuplex } from "@edgemq/core/testing";

/** A CONNECT packet's fields a test may set. */
export type ConnectExtra = Partial<Extract<Packet, { type: "connect" }>>;

/** An MQTT client (5.0 unless told otherwise) attached to `broker` over a MemoryDuplex. */
export class MemoryPeer {
  readonly duplex: MemoryDuplex;
  readonly decoder: FrameDecoder;
  readonly version: ProtocolVersion;
  constructor(broker: Broker, version: ProtocolVersion = 5, info: ConstructorParameters<typeof MemoryDuplex>[0] = {}) {
    this.version = version;
    this.duplex = new MemoryDuplex(info);
    this.decoder = new FrameDecoder({ protocolVersion: version });
    this.duplex.sink = broker.accept(this.duplex);
  }
  /** Sends one packet as one chunk. */
  send(p: Packet): void {
    this.duplex.push(encodePacket(p, this.version));
  }
  /** The packets the broker wrote since the last call. */
  packets(): Packet[] {
    for (const chunk of this.duplex.take()) this.decoder.push(chunk);
    const out: Packet[] = [];
    for (let p = this.decoder.next(); p; p = this.decoder.next()) out.push(p);
    return out;
  }
  /** Sends CONNECT: clean start, no keep alive, the protocol name of this peer's version. */
  connect(clientId: string, extra: ConnectExtra = {}): void {
    this.send({ type: "connect", protocolName: this.version === 3 ? "MQIsdp" : "MQTT", protocolVersion: this.version, cleanStart: true, keepAlive: 0, clientId, ...extra });
  }
}
