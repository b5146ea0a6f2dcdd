import { type Acceptor, type Broker, type ConnInfo, type Duplex, type DuplexSink, toV3ReturnCode } from "@edgemq/core";
import { type ConnectPacket, decodePacket, encodePacket, type ProtocolVersion, ReasonCode } from "@edgemq/core/codec";
import { ISSUER, JWT_METHOD } from "@edgemq/credentials";
import type { BrokerAddress, Registry } from "@edgemq/tenancy";
import { concatBytes } from "./bytes.ts";

/** Where a connection goes: a tenant broker, the default broker, or nowhere (refused with a reason). */
export type Route = { broker: Broker } | { refuse: number; reason: string };

/**
 * Sends each accepted connection to its broker. A connection reaches a
 * tenant broker by the listener it came in on (bound to one broker), by its
 * TLS SNI or WebSocket Host `<broker>.<namespace>.<domain>`, or by the broker
 * its credential was issued for (the JWT's `aud`, read from the CONNECT's
 * password before the broker verifies it); anything else reaches the default
 * broker. Until a route is known the CONNECT's bytes are held here.
 */
export class Router implements Acceptor {
  readonly #fallback: Broker;
  readonly #registry: Registry | undefined;
  readonly #bound: BrokerAddress | undefined;
  readonly #tenancy: () => boolean;
  readonly #pending = new Set<PendingConnection>();
  /** Told of each connection refused here, before any broker saw it (an unknown broker, a credential for another server). */
  onRefused: ((clientId: string, conn: ConnInfo, reasonCode: number, reason: string) => void) | undefined;

  /**
   * A router in front of `fallback` and the registry's brokers; `bound` pins
   * every connection to one broker. `tenancy` says whether tenants are in use
   * (the admin API is served, or namespaces exist): only then is an edgemq
   * credential naming an unknown broker refused, so that an embedding
   * program's own token-checking default broker keeps getting its clients.
   */
  constructor(fallback: Broker, registry?: Registry, bound?: BrokerAddress, tenancy: () => boolean = () => true) {
    this.#fallback = fallback;
    this.#registry = registry;
    this.#bound = bound;
    this.#tenancy = tenancy;
  }

  /** The default broker's limits: they size the adapters' buffers and frames. */
  get limits(): Broker["limits"] {
    return this.#fallback.limits;
  }

  /** @internal The most bytes held before a route is chosen: the pre-authentication packet limit. */
  get maximumConnectPacketSize(): number {
    return this.#fallback.limits.maximumConnectPacketSize;
  }

  /** Takes a new connection; routes it at once if its listener or server name decides, else after its CONNECT. */
  accept(duplex: Duplex): DuplexSink {
    if (this.#registry === undefined) return this.#fallback.accept(duplex);
    if (this.#bound === undefined) {
      const byName = this.#byServerName(duplex.info.serverName);
      if (byName !== undefined && "broker" in byName) return byName.broker.accept(duplex);
    }
    const pending = new PendingConnection(this, duplex, this.#fallback.now());
    this.#pending.add(pending);
    return pending;
  }

  /** Closes connections that sent no CONNECT within the connect timeout (the adapter's timer calls this). */
  tick(now: number): void {
    const limit = this.#fallback.limits.connectTimeout * 1000;
    for (const p of this.#pending) {
      if (now - p.acceptedAt >= limit) p.abandon(); // [MQTT-3.1.4-1] nothing sent in time: close without a CONNACK
    }
  }

  /** @internal The route for a CONNECT that arrived on this router's listener. */
  route(duplex: Duplex, connect: ConnectPacket | undefined): Route {
    const registry = this.#registry!;
    if (this.#bound !== undefined) {
      const { namespace, broker } = this.#bound;
      if (!registry.hasBroker(namespace, broker)) {
        return { refuse: ReasonCode.ServerUnavailable, reason: `this listener serves broker ${broker} of namespace ${namespace}, which does not exist (yet)` };
      }
      return { broker: registry.broker(namespace, broker) };
    }
    const byName = this.#byServerName(duplex.info.serverName);
    if (byName !== undefined) return byName;
    // The credential is the password, or the Authentication Data of the JWT method.
    const token = connect?.properties?.authenticationMethod === JWT_METHOD ? connect.properties?.authenticationData : connect?.password;
    const audience = connect && credentialAudience(token);
    if (audience !== undefined) {
      const dot = audience.indexOf(".");
      const broker = audience.slice(0, dot), namespace = audience.slice(dot + 1);
      if (dot <= 0 || !registry.hasBroker(namespace, broker)) {
        if (!this.#tenancy()) return { broker: this.#fallback };
        return { refuse: ReasonCode.BadUserNameOrPassword, reason: `the credential was issued for broker "${audience}", which this server does not host` };
      }
      return { broker: registry.broker(namespace, broker) };
    }
    return { broker: this.#fallback };
  }

  /** @internal */
  settled(p: PendingConnection): void {
    this.#pending.delete(p);
  }

  // A name shaped `<broker>.<namespace>.<domain>` names a tenant broker; one
  // that names a broker this server lacks is refused rather than quietly sent
  // to the default broker, whose rules the client did not ask for.
  #byServerName(serverName: string | undefined): Route | undefined {
    if (serverName === undefined || this.#registry === undefined) return undefined;
    const address = this.#registry.parseHost(serverName);
    if (address === undefined) return undefined;
    if (this.#registry.hasBroker(address.namespace, address.broker)) return { broker: this.#registry.broker(address.namespace, address.broker) };
    return { refuse: ReasonCode.ServerUnavailable, reason: `no broker is called ${address.broker}.${address.namespace}.${this.#registry.domain}` };
  }
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The `aud` of an edgemq credential given as a password, `<broker>.<namespace>`;
 * undefined for anything else. Nothing is trusted here: the broker the
 * connection is sent to verifies the signature and every claim.
 */
export function credentialAudience(password: Uint8Array | undefined): string | undefined {
  if (password === undefined || password.byteLength < 16 || password.byteLength > 8192) return undefined;
  try {
    const parts = decoder.decode(password).split(".");
    if (parts.length !== 3) return undefined;
    const json = atob(parts[1]!.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(decoder.decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))) as { iss?: unknown; aud?: unknown };
    if (claims.iss !== ISSUER) return undefined;
    const aud = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
    return typeof aud === "string" ? aud : undefined;
  } catch {
    return undefined;
  }
}

// The bytes of a connection whose broker is not known yet. The first packet
// must be CONNECT [MQTT-3.1.0-1]; once it is whole, the route is chosen and
// everything held is replayed into the chosen broker's connection.
class PendingConnection implements DuplexSink {
  readonly acceptedAt: number;
  readonly #router: Router;
  readonly #duplex: Duplex;
  #chunks: Uint8Array[] = [];
  #size = 0;
  #target: DuplexSink | undefined;
  #done = false;

  constructor(router: Router, duplex: Duplex, now: number) {
    this.#router = router;
    this.#duplex = duplex;
    this.acceptedAt = now;
  }

  data(bytes: Uint8Array): void {
    if (this.#target !== undefined) return this.#target.data(bytes);
    if (this.#done) return;
    this.#chunks.push(bytes);
    this.#size += bytes.byteLength;
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : concatBytes(this.#chunks, this.#size);
    this.#chunks = [all];
    const length = packetLength(all);
    if (length === "incomplete") return;
    // Too long to hold: the default broker refuses it from its header, as it would any other.
    if (length !== "invalid" && length > this.#router.maximumConnectPacketSize) return this.#settle(undefined);
    // Not a CONNECT, malformed or too long: the default broker refuses it with the right code.
    let connect: ConnectPacket | undefined;
    if (length !== "invalid" && length <= all.byteLength) {
      try {
        const p = decodePacket(all.subarray(0, length));
        if (p.type === "connect") connect = p;
      } catch {
        // left to the broker, whose decoder names the error
      }
    } else if (length !== "invalid") {
      return; // wait for the rest of the CONNECT
    }
    this.#settle(connect);
  }

  drain(): void {
    this.#target?.drain();
  }

  end(error?: unknown): void {
    if (this.#target !== undefined) return this.#target.end(error);
    this.#done = true;
    this.#router.settled(this);
  }

  abandon(): void {
    this.#done = true;
    this.#router.settled(this);
    this.#duplex.close();
  }

  #settle(connect: ConnectPacket | undefined): void {
    this.#router.settled(this);
    const held = this.#chunks[0]!;
    this.#chunks = [];
    const route = this.#router.route(this.#duplex, connect);
    if ("refuse" in route) {
      this.#done = true;
      this.#router.onRefused?.(connect?.clientId ?? "", this.#duplex.info, route.refuse, route.reason);
      refuse(this.#duplex, connect, route.refuse, route.reason);
      return;
    }
    this.#target = route.broker.accept(this.#duplex);
    // The duplex talks to the broker's connection from now on: this object is no longer kept (issue 14).
    this.#duplex.redirect?.(this.#target);
    this.#target.data(held);
  }
}

// The fixed header's total length, once enough of it has arrived. A first
// byte that is not CONNECT's is "invalid": the broker closes such a connection.
function packetLength(bytes: Uint8Array): number | "incomplete" | "invalid" {
  if (bytes.byteLength === 0) return "incomplete";
  if (bytes[0] !== 0x10) return "invalid";
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    if (i >= bytes.byteLength) return "incomplete";
    const b = bytes[i]!;
    value += (b & 0x7f) * 128 ** (i - 1);
    if ((b & 0x80) === 0) return 1 + i + value;
  }
  return "invalid";
}

// A CONNACK refusing the connection, then the close [MQTT-3.2.2-7]: 5.0
// clients get the reason code and string, older ones the nearest return code.
function refuse(duplex: Duplex, connect: ConnectPacket | undefined, reasonCode: number, reason: string): void {
  if (connect !== undefined) {
    const version: ProtocolVersion = connect.protocolVersion;
    const rc = version === 5 ? reasonCode : toV3ReturnCode(reasonCode);
    // A Reason String is allowed on CONNACK whatever Request Problem Information says [MQTT-3.1.2-29].
    duplex.write(encodePacket({ type: "connack", sessionPresent: false, reasonCode: rc, properties: version === 5 ? { reasonString: reason } : undefined }, version));
  }
  duplex.close();
}
