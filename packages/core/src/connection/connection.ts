import type { ProtocolVersion, QoS } from "../codec/constants.ts";
import { MqttError } from "../codec/errors.ts";
import { FrameDecoder } from "../codec/frame.ts";
import { encodePacket, type Packet } from "../codec/packet.ts";
import { allocate } from "../codec/writer.ts";
import type { AnyAckPacket } from "../codec/packets/ack.ts";
import type { ConnectPacket } from "../codec/packets/connect.ts";
import type { AuthPacket, DisconnectPacket } from "../codec/packets/disconnect.ts";
import type { PublishPacket } from "../codec/packets/publish.ts";
import type { SubscribePacket } from "../codec/packets/subscribe.ts";
import type { UnsubscribePacket } from "../codec/packets/unsubscribe.ts";
import { CONNACK_REASON_CODES, DISCONNECT_REASON_CODES, ReasonCode } from "../codec/reason-codes.ts";
import { NEVER_EXPIRES } from "../codec/constants.ts";
import { forwardableProperties, type Message } from "../model/message.ts";
import { checkTopicLimits } from "../policy/limits.ts";
import type { AuthResult } from "../policy/hook.ts";
import type { ClientInfo } from "../model/client.ts";
import type { OutgoingRecord } from "../model/outgoing-record.ts";
import type { HookEntry } from "../policy/publish-hook.ts";
import type { Duplex, DuplexSink } from "../transport/duplex.ts";
import { encodeOutgoingPublish } from "./outgoing-publish.ts";
import { AuthExchange } from "./auth-exchange.ts";
import { connackProperties, toV3ReturnCode } from "./connack.ts";
import type { ConnectionHost, ConnectionSession, PublishOutcome } from "./host.ts";

/** Where a connection is in its life. */
export type ConnectionState = "awaiting-connect" | "authenticating" | "connected" | "closed";

/**
 * One client connection's protocol machine. It never touches a socket or a
 * timer: bytes arrive through {@link data}, time through the broker's clock
 * and {@link tick}; it writes through the {@link Duplex} it was given.
 */
export class Connection<S extends ConnectionSession = ConnectionSession> implements DuplexSink {
  /** The broker this connection serves, as the interface the machine declares. */
  readonly host: ConnectionHost<S, Connection<S>>;
  readonly duplex: Duplex;
  state: ConnectionState = "awaiting-connect";
  /** The protocol level of the CONNECT (5 until one arrives). */
  version: ProtocolVersion = 5;
  /** Set once connected. */
  session: S | undefined;
  client: ClientInfo;
  /** When the socket was accepted (ms). */
  readonly openedAt: number;
  /** When a packet last arrived (ms), for keep alive. */
  lastActivity: number;
  /** The keep alive the server enforces, in seconds; 0 for none. */
  keepAlive = 0;
  /** The client's Receive Maximum: how many QoS > 0 PUBLISH it takes unacknowledged. */
  sendWindow = 65535;
  /** The client's Maximum Packet Size. */
  clientMaximumPacketSize = 0xffffffff;
  /** The client's Topic Alias Maximum (server → client aliases). */
  clientTopicAliasMaximum = 0;
  /** Whether the client asked for Reason Strings and User Properties on errors. */
  requestProblemInformation = true;
  /** Whether the socket is backed up. */
  backpressured = false;
  /** When the client's credential expires (ms); the connection ends then with 0xA0. */
  credentialExpiresAt: number | undefined;
  #decoder: FrameDecoder;
  // Enhanced authentication, only for a CONNECT that names a method.
  #auth: AuthExchange | undefined;
  #will: ConnectPacket["will"];

  /** The will of this connection's CONNECT (when wills are available), published if it ends without a normal DISCONNECT. */
  get will(): ConnectPacket["will"] {
    return this.#will;
  }
  // Topic aliases, made only for clients that use them (most do not).
  #inboundAliases: Map<number, string> | undefined;
  #outboundAliases: Map<string, number> | undefined;
  // Set when acknowledgements freed window room; the host pumps once the chunk is handled.
  #pumpPending = false;
  // The answer to the PUBLISH being handled, reused (made at the first QoS 1/2 PUBLISH).
  #outcome: PublishOutcome | undefined;
  #inboundUnacked = 0;
  // Rate limits: token buckets refilled by elapsed time, so nothing is allocated per packet.
  #packetTokens = 0;
  #byteTokens = 0;
  #bucketsAt = 0;
  #pendingWhileAuthenticating: Uint8Array[] = [];
  // The stream's first bytes, kept until CONNECT is decoded, to tell what a bad first packet was.
  #head: number[] = [];
  #normalDisconnect = false;
  #disconnectReason: number = ReasonCode.UnspecifiedError;
  #everConnected = false;
  #detached = false;
  // The commit of the last accepted QoS 2 PUBLISH: a resend of it is acknowledged only after.
  #inboundCommit: Promise<unknown> | undefined;
  // The last QoS 1/2 acknowledgement still waiting for a commit; later ones go after it.
  #pendingAck: Promise<unknown> | undefined;
  #pendingAckWait: Promise<unknown> | undefined;
  // PUBLISHes waiting for the on-publish hook's verdict, in the order they arrived: each is
  // routed and acknowledged only once it and every one before it have their verdict.
  #hooked: { entry: HookEntry; qos: QoS; packetId: number }[] = [];
  // QoS 2 ids waiting for the hook: a resend meanwhile is answered with the verdict.
  #hookedQos2: Set<number> | undefined;
  // Reading is paused because too many of this client's messages wait for the hook.
  #paused = false;

  constructor(host: ConnectionHost<S, Connection<S>>, duplex: Duplex, now: number) {
    this.host = host;
    this.duplex = duplex;
    this.openedAt = now;
    this.lastActivity = now;
    // Until CONNECT is accepted, a smaller limit keeps an unauthenticated peer cheap.
    this.#decoder = new FrameDecoder({ maximumPacketSize: host.limits.maximumConnectPacketSize });
    this.client = { clientId: "", username: undefined, protocolVersion: 5, conn: duplex.info, attributes: {} };
  }

  // ---------------------------------------------------------------- input

  /** Bytes from the socket. */
  data(bytes: Uint8Array): void {
    if (this.state === "closed") return;
    const now = this.lastActivity = this.host.now();
    this.host.stats.bytesReceived += bytes.byteLength;
    if (this.host.limits.maximumBytesPerSecond > 0 && this.state === "connected" && !this.#withinRate(now, 0, bytes.byteLength)) return;
    if (this.state === "authenticating" && this.#auth?.step === undefined) {
      // Packets after CONNECT wait until authentication answers (an AUTH step it asked for is read).
      this.#pendingWhileAuthenticating.push(bytes);
      return;
    }
    if (this.state === "awaiting-connect") for (let i = 0; i < bytes.byteLength && this.#head.length < 16; i++) this.#head.push(bytes[i]!);
    this.#decoder.push(bytes);
    this.#drainDecoder();
    // What this chunk gave the on-publish hook leaves as one batch.
    if (this.#hooked.length > 0) this.host.publishHook?.flush();
    if (this.#pumpPending) {
      this.#pumpPending = false;
      this.host.pump(this);
    }
  }

  #drainDecoder(): void {
    try {
      for (;;) {
        // Paused: what is left stays in the decoder until the hook catches up.
        if (this.state === "closed" || (this.state === "authenticating" && this.#auth?.step === undefined) || this.#paused) return;
        const packet = this.#decoder.next();
        if (packet === undefined) return;
        this.#handle(packet);
      }
    } catch (e) {
      if (e instanceof MqttError) this.#protocolFailure(e);
      else throw e;
    }
  }

  /**
   * Refills the buckets for the time since the last refill, takes `bytes`
   * from the byte bucket, and ends the connection with 0x96 Message rate too
   * high if either bucket ran dry (§3.14.2.1). A bucket holds one second's
   * worth, and the byte bucket at least one largest packet.
   */
  #withinRate(now: number, packets: number, bytes: number): boolean {
    const limits = this.host.limits;
    const pps = limits.maximumPacketsPerSecond;
    const bps = limits.maximumBytesPerSecond;
    if (pps === 0 && bps === 0) return true;
    const elapsed = now - this.#bucketsAt;
    if (elapsed > 0) {
      this.#bucketsAt = now;
      this.#packetTokens = Math.min(pps, this.#packetTokens + (elapsed * pps) / 1000);
      this.#byteTokens = Math.min(Math.max(bps, limits.maximumPacketSize), this.#byteTokens + (elapsed * bps) / 1000);
    }
    if (pps > 0) this.#packetTokens -= packets;
    if (bps > 0) this.#byteTokens -= bytes;
    const packetsOver = pps > 0 && this.#packetTokens < 0;
    if (!packetsOver && (bps === 0 || this.#byteTokens >= 0)) return true;
    this.host.stats.rateLimited++;
    this.disconnect(ReasonCode.MessageRateTooHigh, packetsOver ? `more than ${pps} packets per second` : `more than ${bps} bytes per second`);
    return false;
  }

  /** The socket can take more. */
  drain(): void {
    this.backpressured = false;
    if (this.state === "connected") this.host.pump(this);
  }

  /** The socket closed (the adapter calls this once; later calls do nothing). */
  end(_error?: unknown): void {
    if (this.#detached) return;
    this.#detached = true;
    this.state = "closed";
    // The will goes unless a DISCONNECT with reason 0x00 discarded it [MQTT-3.1.2-10]
    this.host.detach(this, this.#everConnected, this.#normalDisconnect ? undefined : this.#will, this.#disconnectReason);
    this.#inboundAliases = undefined;
    this.#outboundAliases = undefined;
    this.#pendingWhileAuthenticating = [];
    // Messages still waiting for the hook are neither routed nor acknowledged: QoS 1 and 2 are resent by the client.
    this.#hooked = [];
  }

  #handle(packet: Packet): void {
    this.host.stats.packetsReceived++;
    if (this.state === "authenticating") return this.#onAuthBeforeConnack(packet);
    if (this.state === "awaiting-connect") {
      if (packet.type !== "connect") {
        // The first packet must be CONNECT [MQTT-3.1.0-1]
        this.#closeNow();
        return;
      }
      this.#onConnect(packet);
      return;
    }
    // Acknowledgements of what the broker sent go at the broker's pace, so they are not counted.
    if (this.host.limits.maximumPacketsPerSecond > 0) {
      const type = packet.type;
      if (type !== "puback" && type !== "pubrec" && type !== "pubcomp" && !this.#withinRate(this.lastActivity, 1, 0)) return;
    }
    switch (packet.type) {
      case "publish": return this.#onPublish(packet);
      case "puback": return this.#onPuback(packet);
      case "pubrec": return this.#onPubrec(packet);
      case "pubrel": return this.#onPubrel(packet);
      case "pubcomp": return this.#onPubcomp(packet);
      case "subscribe": return this.#onSubscribe(packet);
      case "unsubscribe": return this.#onUnsubscribe(packet);
      case "pingreq": this.#send({ type: "pingresp" }); return; // [MQTT-3.12.4-1]
      case "disconnect": return this.#onDisconnect(packet);
      case "connect":
        // A second CONNECT is a Protocol Error [MQTT-3.1.0-2]
        return this.disconnect(ReasonCode.ProtocolError, "a second CONNECT on one connection");
      case "auth": return this.#onReauthenticate(packet);
      default:
        // CONNACK, SUBACK, UNSUBACK, PINGRESP only travel server → client.
        return this.disconnect(ReasonCode.ProtocolError, `a client may not send ${packet.type.toUpperCase()}`);
    }
  }

  // -------------------------------------------------------------- connect

  #onConnect(p: ConnectPacket): void {
    const host = this.host;
    this.version = p.protocolVersion;
    this.client.protocolVersion = p.protocolVersion;
    this.client.username = p.username;
    if (!host.features.protocolVersions.includes(p.protocolVersion)) {
      return this.#refuse(ReasonCode.UnsupportedProtocolVersion, `protocol level ${p.protocolVersion} is not offered by this broker`); // [MQTT-3.1.2-2]
    }
    const method = p.properties?.authenticationMethod;
    if (method !== undefined) {
      if (!host.offersAuthenticationMethod(method)) return this.#refuse(ReasonCode.BadAuthenticationMethod, `authentication method ${method} is not supported`);
      this.#auth = new AuthExchange(method, p);
    }
    if (p.clientId.length > host.limits.maximumClientIdLength) {
      return this.#refuse(ReasonCode.ClientIdentifierNotValid, `client identifier longer than ${host.limits.maximumClientIdLength}`); // [MQTT-3.1.3-5]
    }
    if (p.clientId.length === 0) {
      if (p.protocolVersion === 3 || (p.protocolVersion === 4 && !p.cleanStart)) {
        // 3.1.1 needs Clean Session = 1 with an empty id [MQTT-3.1.3-8] (3.1.1); 3.1 needs an id.
        return this.#refuse(ReasonCode.ClientIdentifierNotValid, "an empty client identifier needs clean session");
      }
    }
    if (p.will) {
      if (p.will.qos > host.features.maximumQoS) {
        return this.#refuse(ReasonCode.QoSNotSupported, `will QoS ${p.will.qos} is above the maximum QoS ${host.features.maximumQoS}`); // [MQTT-3.2.2-12]
      }
      if (p.will.retain && !host.features.retainAvailable) {
        return this.#refuse(ReasonCode.RetainNotSupported, "retained wills are not available"); // [MQTT-3.2.2-13]
      }
    }
    const props = p.properties;
    if (props?.receiveMaximum !== undefined) this.sendWindow = props.receiveMaximum;
    if (props?.maximumPacketSize !== undefined) this.clientMaximumPacketSize = props.maximumPacketSize;
    if (props?.topicAliasMaximum !== undefined) this.clientTopicAliasMaximum = Math.min(props.topicAliasMaximum, host.limits.topicAliasMaximum);
    if (props?.requestProblemInformation === false) this.requestProblemInformation = false;
    this.state = "authenticating";
    this.#settleConnect(p, host.authenticate(this, p));
  }

  #settleConnect(p: ConnectPacket, result: AuthResult | Promise<AuthResult>): void {
    if (result instanceof Promise) {
      result.then(
        (r) => this.#completeConnect(p, r),
        () => this.#completeConnect(p, { deny: ReasonCode.UnspecifiedError, reason: "authentication failed" }),
      );
    } else {
      this.#completeConnect(p, result);
    }
  }

  #completeConnect(p: ConnectPacket, result: AuthResult): void {
    if (this.state !== "authenticating") return; // the socket closed while we waited
    if (result === "next") result = { deny: ReasonCode.NotAuthorized, reason: "no hook accepted the client" };
    if ("continue" in result) {
      // Enhanced authentication: ask the client for its next step in AUTH [MQTT-4.12.0-2]
      if (this.#auth === undefined) result = { deny: ReasonCode.ProtocolError, reason: "an authentication step without an authentication method" };
      else {
        this.#send(this.#auth.challenge(result));
        // What came after the CONNECT is read now: the AUTH answer among it.
        const pending = this.#pendingWhileAuthenticating;
        this.#pendingWhileAuthenticating = [];
        for (const bytes of pending) this.#decoder.push(bytes);
        this.#drainDecoder();
        return;
      }
    }
    if ("deny" in result) {
      this.state = "awaiting-connect";
      return this.#refuse(result.deny, result.reason);
    }
    const host = this.host;
    let clientId = p.clientId;
    let assigned = false;
    if (!host.mayConnect(clientId)) {
      this.state = "awaiting-connect";
      // An administrative limit: CONNACK 0x97 Quota exceeded (§3.2.2.2); 3.1.1 says 3 Server unavailable
      return this.#refuse(ReasonCode.QuotaExceeded, `the broker allows ${host.limits.maximumConnections} connections`);
    }
    if (result.clientId !== undefined && clientId === "") {
      clientId = result.clientId; // from the credential: the client learns it as Assigned Client Identifier
      assigned = true;
    }
    if (clientId === "") {
      clientId = `edgemq-${crypto.randomUUID()}`; // [MQTT-3.1.3-6]
      assigned = true;
    }
    this.client.clientId = clientId;
    if (result.attributes) this.client.attributes = result.attributes;
    if (this.#auth !== undefined) {
      this.#auth.finalData = result.data;
      this.#auth.connect = undefined;
    }
    this.credentialExpiresAt = result.expiresAt;
    if (host.features.willMessages) this.#will = p.will;

    // Keep alive: a v5 client gets the server's cap as Server Keep Alive; the
    // others' own value is enforced, since 3.1.1 cannot be told otherwise.
    // A floor raises a shorter (or absent) keep alive: told to a v5 client, and
    // for 3.1.1 the longer wait is only ours, which a client that keeps its own
    // shorter promise never notices; one that asked for none is held to what a
    // 5.0 client would be told (the cap, or the floor without a cap).
    const cap = host.limits.maximumKeepAlive;
    const floor = cap > 0 ? Math.min(host.limits.minimumKeepAlive, cap) : host.limits.minimumKeepAlive;
    let serverKeepAlive: number | undefined;
    let keepAlive = p.keepAlive;
    if (cap > 0 && (keepAlive === 0 || keepAlive > cap)) keepAlive = cap;
    if (floor > 0 && (keepAlive === 0 || keepAlive < floor)) keepAlive = floor;
    if (p.protocolVersion === 5 && keepAlive !== p.keepAlive) {
      serverKeepAlive = keepAlive; // [MQTT-3.2.2-21]
      this.keepAlive = keepAlive;
    } else if (p.protocolVersion !== 5 && floor > 0 && (p.keepAlive === 0 || p.keepAlive < floor)) {
      this.keepAlive = keepAlive; // what a 5.0 client would be told: the floor, or the cap for 0
    } else {
      this.keepAlive = p.keepAlive; // 3.1.1 cannot be told a lower cap: its own value is enforced
    }

    // Session Expiry: 5.0 says it in a property; 3.1.1's Clean Session = 0 means "keep".
    let expiry = p.protocolVersion === 5 ? (p.properties?.sessionExpiryInterval ?? 0) : p.cleanStart ? 0 : NEVER_EXPIRES;
    let expiryCapped = false;
    if (expiry > host.limits.maximumSessionExpiryInterval) {
      expiry = host.limits.maximumSessionExpiryInterval;
      expiryCapped = p.protocolVersion === 5;
    }
    const { session, sessionPresent, committed } = host.attach(this, clientId, p.cleanStart, expiry);
    this.session = session;
    this.#everConnected = true; // attached: the end of the socket detaches it
    const finish = () => this.#finishConnect(sessionPresent, assigned, serverKeepAlive, expiryCapped, expiry);
    // CONNACK confirms the session only once the store holds it; packets that
    // arrive meanwhile wait, as they do while authenticating.
    if (committed === undefined) finish();
    else committed.then(finish, this.#storeFailed);
  }

  #finishConnect(sessionPresent: boolean, assigned: boolean, serverKeepAlive: number | undefined, expiryCapped: boolean, expiry: number): void {
    if (this.state !== "authenticating") return; // the socket closed, or the session was taken over, while we waited
    const host = this.host;
    const clientId = this.client.clientId;
    this.#decoder.maximumPacketSize = host.limits.maximumPacketSize;
    this.state = "connected";
    this.#head = [];
    this.#send({
      type: "connack",
      sessionPresent, // [MQTT-3.2.2-2], [MQTT-3.2.2-3]
      reasonCode: ReasonCode.Success,
      properties: this.version === 5
        ? connackProperties(host.features, host.limits, {
          assignedClientIdentifier: assigned ? clientId : undefined, serverKeepAlive, sessionExpiryInterval: expiryCapped ? expiry : undefined,
          authenticationMethod: this.#auth?.method, authenticationData: this.#auth?.finalData, // [MQTT-4.12.0-5]
        })
        : undefined,
    });
    host.connected(this);
    // Packets that arrived while authenticating are processed now, in order.
    const pending = this.#pendingWhileAuthenticating;
    this.#pendingWhileAuthenticating = [];
    for (const bytes of pending) this.#decoder.push(bytes);
    this.#drainDecoder();
  }

  // A packet while an enhanced authentication step waits for the client's AUTH.
  #onAuthBeforeConnack(packet: Packet): void {
    const auth = this.#auth!;
    const connect = auth.connect!;
    // Once the exchange has begun, only the client's AUTH may come before CONNACK (§4.12).
    const step = packet.type === "auth" ? auth.answer(packet) : ReasonCode.ProtocolError;
    if (typeof step === "number") {
      this.state = "awaiting-connect";
      return this.#refuse(step, packet.type === "auth" ? "unexpected AUTH in the authentication exchange" : `${packet.type.toUpperCase()} before the authentication exchange ended`);
    }
    this.#settleConnect(connect, step.next((packet as AuthPacket).properties?.authenticationData));
  }

  // AUTH while connected: re-authentication (0x19), or the client's answer to a step of one.
  #onReauthenticate(p: AuthPacket): void {
    const auth = this.#auth;
    // Without an Authentication Method at CONNECT there is nothing to re-authenticate [MQTT-4.12.1-1]
    if (auth === undefined) return this.disconnect(ReasonCode.ProtocolError, "AUTH without an authentication method");
    if (p.properties?.authenticationMethod !== auth.method) return this.disconnect(ReasonCode.BadAuthenticationMethod, "re-authentication must use the method of the CONNECT");
    let result: AuthResult | Promise<AuthResult>;
    if (p.reasonCode === ReasonCode.ReAuthenticate && auth.step === undefined) {
      auth.reauthenticating = true;
      result = this.host.reauthenticate(this, { client: this.client, method: auth.method, data: p.properties?.authenticationData });
    } else {
      const step = auth.reauthenticating ? auth.answer(p) : ReasonCode.ProtocolError;
      if (typeof step === "number") return this.disconnect(step, "unexpected AUTH");
      result = step.next(p.properties?.authenticationData);
    }
    const settle = (r: AuthResult): void => {
      if (this.state !== "connected") return;
      if (r === "next") r = { deny: ReasonCode.NotAuthorized, reason: "re-authentication was not accepted" };
      if ("continue" in r) return this.#send(auth.challenge(r));
      auth.reauthenticating = false;
      // A failed re-authentication ends the connection [MQTT-4.12.1-2]
      if ("deny" in r) return this.disconnect(r.deny, r.reason);
      if (r.attributes) this.client.attributes = r.attributes;
      if (r.expiresAt !== undefined) this.credentialExpiresAt = r.expiresAt;
      this.#send(auth.success(r.data));
    };
    if (result instanceof Promise) result.then(settle, () => settle({ deny: ReasonCode.UnspecifiedError, reason: "re-authentication failed" }));
    else settle(result);
  }

  /** Refuses a CONNECT with a reason code and closes [MQTT-3.2.2-7]. */
  #refuse(reasonCode: number, reason?: string): void {
    if (this.version === 5) {
      this.#send({
        type: "connack", sessionPresent: false, reasonCode, // [MQTT-3.2.2-6]
        properties: reason && this.requestProblemInformation ? { reasonString: reason } : undefined,
      });
    } else {
      this.#send({ type: "connack", sessionPresent: false, reasonCode: toV3ReturnCode(reasonCode) });
    }
    this.#closeNow();
  }

  // -------------------------------------------------------------- publish

  #onPublish(p: PublishPacket): void {
    const host = this.host;
    const props = p.properties;
    let topic = p.topic;
    if (this.version === 5 && props !== undefined) {
      if (props.subscriptionIdentifiers !== undefined) {
        // A client must not send a Subscription Identifier [MQTT-3.3.4-6]
        return this.disconnect(ReasonCode.ProtocolError, "PUBLISH from a client may not carry a subscription identifier");
      }
      const alias = props.topicAlias;
      if (alias !== undefined) {
        if (alias > host.limits.topicAliasMaximum) {
          return this.disconnect(ReasonCode.TopicAliasInvalid, `topic alias ${alias} is above the maximum ${host.limits.topicAliasMaximum}`); // [MQTT-3.3.2-12]
        }
        if (topic.length > 0) {
          (this.#inboundAliases ??= new Map()).set(alias, topic);
        } else {
          const known = this.#inboundAliases?.get(alias);
          if (known === undefined) return this.disconnect(ReasonCode.ProtocolError, `topic alias ${alias} has no topic yet`);
          topic = known;
        }
      }
    }
    if (p.qos > host.features.maximumQoS) {
      return this.disconnect(ReasonCode.QoSNotSupported, `QoS ${p.qos} is above the maximum QoS ${host.features.maximumQoS}`); // [MQTT-3.2.2-11]
    }
    if (p.retain && !host.features.retainAvailable) {
      return this.disconnect(ReasonCode.RetainNotSupported, "retained messages are not available"); // [MQTT-3.2.2-14]
    }
    const limitError = checkTopicLimits(topic, host.limits);
    if (limitError !== undefined) return this.disconnect(ReasonCode.TopicNameInvalid, limitError);

    if (p.qos > 0) {
      // A resend of a QoS 2 message that waits for the hook is answered by that verdict [MQTT-4.3.3-10]
      if (p.qos === 2 && this.#hookedQos2?.has(p.packetId!)) return;
      if (p.qos === 2 && this.session!.inboundQos2.has(p.packetId!)) {
        // A resent QoS 2 message is acknowledged again, not delivered again, and
        // is not a new message towards the Receive Maximum [MQTT-4.3.3-10]; not
        // before the first copy is committed, though.
        const pubrec: Packet = { type: "pubrec", packetId: p.packetId!, reasonCode: 0 };
        return this.#afterCommit(this.#inboundCommit, () => this.#send(pubrec));
      }
      // The client may not have more unacknowledged QoS > 0 PUBLISH than our Receive Maximum.
      if (this.#inboundUnacked + this.session!.inboundQos2.size >= host.limits.receiveMaximum) {
        return this.disconnect(ReasonCode.ReceiveMaximumExceeded, `more than ${host.limits.receiveMaximum} unacknowledged QoS 1 and 2 messages`); // [MQTT-3.3.4-7]
      }
    }

    const now = host.now();
    const message: Message = {
      topic,
      payload: p.payload,
      qos: p.qos,
      retain: p.retain,
      properties: forwardableProperties(props, host.features.forwardUserProperties),
      expiresAt: props?.messageExpiryInterval !== undefined ? now + props.messageExpiryInterval * 1000 : undefined,
      senderId: this.client.clientId,
      receivedAt: now,
    };
    // With an on-publish hook, or while earlier messages wait for one, the message waits its turn.
    if (host.publishHook !== undefined || this.#hooked.length > 0) return this.#publishThroughHook(message, p.qos, p.packetId ?? 0);
    const refused = host.admitPublish(this, message);
    if (p.qos === 0) {
      if (refused === 0) host.acceptPublish(this, message, undefined, (this.#outcome ??= { reasonCode: 0, committed: undefined }));
      return;
    }
    const outcome = (this.#outcome ??= { reasonCode: 0, committed: undefined });
    if (refused === 0) host.acceptPublish(this, message, p.qos === 2 ? p.packetId : undefined, outcome);
    else {
      outcome.reasonCode = refused;
      outcome.committed = undefined;
    }
    this.#acknowledgeAfterCommit(p.qos, p.packetId!, outcome.reasonCode, outcome.committed);
  }

  // Acknowledges a routed (or refused) QoS 1 or 2 PUBLISH once what it changed is committed.
  #acknowledgeAfterCommit(qos: QoS, packetId: number, reasonCode: number, committed: Promise<unknown> | undefined): void {
    // An accepted QoS 2 id is known from now on (the broker holds it in inboundQos2), so a
    // resend before PUBREL is not routed twice [MQTT-4.3.3-8]; it counts towards the Receive
    // Maximum through inboundQos2 until PUBREL.
    const held = qos === 2 && reasonCode < 0x80;
    // The acknowledgement waits for the store to commit what the message changed: PUBACK
    // [MQTT-4.3.2-4] and PUBREC [MQTT-4.3.3-8] only once the message is durable.
    if (held) this.#inboundCommit = committed;
    // Acknowledgements leave in the order the PUBLISHes came [MQTT-4.6.0-2] [MQTT-4.6.0-3], so one
    // with nothing to commit still waits behind an earlier one that waits for its commit.
    const earlier = this.#pendingAck;
    if (committed === undefined && earlier === undefined) return this.#acknowledge(qos, packetId, reasonCode);
    if (!held) this.#inboundUnacked++;
    // Callbacks on one promise run in the order registered, so messages of one group commit
    // wait on the commit itself; only a different (or no) commit is chained behind the last.
    const wait = earlier === undefined || committed === this.#pendingAckWait ? committed! : committed === undefined ? earlier : earlier.then(() => committed);
    this.#pendingAckWait = wait;
    const sent = wait.then(
      () => {
        if (!held) this.#inboundUnacked--;
        if (this.#pendingAck === sent) this.#pendingAck = this.#pendingAckWait = undefined;
        this.#acknowledge(qos, packetId, reasonCode);
      },
      this.#storeFailed,
    );
    this.#pendingAck = sent;
  }

  // ---------------------------------------------------- on-publish hook

  /** Whether the connection has ended (the hook pipeline skips its messages). */
  get closed(): boolean {
    return this.state === "closed";
  }

  // Queues a PUBLISH behind the ones already waiting; it goes to the hook unless refused first.
  #publishThroughHook(message: Message, qos: QoS, packetId: number): void {
    const host = this.host;
    const hook = host.publishHook;
    const entry: HookEntry = { message, client: this.client, owner: this, outcome: undefined };
    this.#hooked.push({ entry, qos, packetId });
    // Until its verdict it counts towards our Receive Maximum [MQTT-3.3.4-7]
    if (qos > 0) this.#inboundUnacked++;
    if (qos === 2) (this.#hookedQos2 ??= new Set()).add(packetId);
    const refused = host.admitPublish(this, message);
    if (refused !== 0) entry.outcome = { refuse: refused };
    else if (hook === undefined) entry.outcome = { deliver: message }; // the hook was removed meanwhile
    else {
      hook.submit(entry);
      // Bounded: past either limit this client is not read until verdicts come back.
      if (this.#hooked.length >= hook.options.maxPendingPerConnection) this.#pause();
      else if (hook.full) {
        this.#pause();
        hook.pausedForBroker(this);
      }
      return;
    }
    this.hookSettled();
  }

  /**
   * Routes and acknowledges, in arrival order, the messages at the head of the queue whose verdict is in:
   * PUBACKs [MQTT-4.6.0-2] and PUBRECs [MQTT-4.6.0-3] leave in the order the PUBLISHes came.
   */
  hookSettled(): void {
    const queue = this.#hooked;
    while (queue.length > 0 && queue[0]!.entry.outcome !== undefined && this.state === "connected") {
      const { entry, qos, packetId } = queue.shift()!;
      const outcome = entry.outcome!;
      if (qos > 0) this.#inboundUnacked--;
      if (qos === 2) this.#hookedQos2!.delete(packetId);
      const answer = (this.#outcome ??= { reasonCode: 0, committed: undefined });
      if ("deliver" in outcome) this.host.acceptPublish(this, outcome.deliver, qos === 2 ? packetId : undefined, answer);
      else {
        // A refused message changes nothing in the store. 0x87 (the hook's drop) and 0x80 (its failure)
        // are PUBACK and PUBREC reason codes [MQTT-3.4.2-1]; 3.1.1 has none, so #acknowledge sends it plain.
        answer.reasonCode = outcome.refuse;
        answer.committed = undefined;
      }
      if (qos > 0) this.#acknowledgeAfterCommit(qos, packetId, answer.reasonCode, answer.committed);
    }
    const hook = this.host.publishHook;
    if (this.#paused && queue.length <= (hook?.options.maxPendingPerConnection ?? 0) / 2) {
      // Below its own bound: read again, unless the broker-wide bound still holds it (which resumes it later).
      if (hook?.full) hook.pausedForBroker(this);
      else this.resumeFromHook();
    }
    if (this.#pumpPending) {
      this.#pumpPending = false;
      this.host.pump(this);
    }
  }

  /** Reads again after a pause for the hook: the decoder's leftovers first. */
  resumeFromHook(): void {
    if (!this.#paused || this.state === "closed") return;
    this.#paused = false;
    this.duplex.resume?.();
    this.#drainDecoder();
    if (this.#hooked.length > 0) this.host.publishHook?.flush();
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.duplex.pause?.();
  }

  #acknowledge(qos: QoS, packetId: number, reasonCode: number): void {
    if (this.state !== "connected") return;
    const code = this.version === 5 ? reasonCode : 0;
    if (code === 0) {
      // The common case, PUBACK or PUBREC with Success, is four fixed bytes.
      const bytes = allocate(4);
      bytes[0] = qos === 1 ? 0x40 : 0x50;
      bytes[1] = 2;
      bytes[2] = packetId >>> 8;
      bytes[3] = packetId & 0xff;
      this.write(bytes); // [MQTT-4.3.2-4], [MQTT-4.3.3-8]
      return;
    }
    this.#send({ type: qos === 1 ? "puback" : "pubrec", packetId, reasonCode: code });
  }

  #onPubrel(p: AnyAckPacket): void {
    const session = this.session!;
    const known = session.inboundQos2.delete(p.packetId);
    // After PUBCOMP the client may reuse the id for a new message [MQTT-4.3.3-12], so the id
    // must be gone from the store first: else a restart would take that message for a resend.
    const committed = known && session.expiryInterval > 0 ? this.host.store.deleteInboundQos2(session.clientId, p.packetId) : undefined;
    // [MQTT-4.3.3-11] PUBCOMP with the same packet id; 0x92 if we never saw it.
    const pubcomp: Packet = { type: "pubcomp", packetId: p.packetId, reasonCode: known || this.version < 5 ? 0 : ReasonCode.PacketIdentifierNotFound };
    this.#afterCommit(committed, () => this.#send(pubcomp));
  }

  #onPuback(p: AnyAckPacket): void {
    const record = this.session!.inflight.get(p.packetId);
    if (record === undefined || record.qos !== 1) return; // an unknown id is ignored
    if (this.host.completeOutgoing(this, record)) this.#pumpPending = true;
  }

  #onPubrec(p: AnyAckPacket): void {
    const session = this.session!;
    const record = session.inflight.get(p.packetId);
    if (record === undefined || record.qos !== 2) {
      if (this.version === 5) this.#send({ type: "pubrel", packetId: p.packetId, reasonCode: ReasonCode.PacketIdentifierNotFound });
      else this.#send({ type: "pubrel", packetId: p.packetId, reasonCode: 0 });
      return;
    }
    if (p.reasonCode >= 0x80) {
      // A failed PUBREC ends the exchange: no PUBREL follows (§4.3.3).
      if (this.host.completeOutgoing(this, record)) this.#pumpPending = true;
      return;
    }
    record.state = "pubrel"; // [MQTT-4.3.3-4] the message is now known to the client
    // Once PUBREL is out the PUBLISH must never be sent again [MQTT-4.3.3-6], so the
    // PUBREL state is committed first (for a lasting session; others end with a crash).
    const committed = session.expiryInterval > 0 ? this.host.store.saveOutgoing(session.clientId, [record]) : undefined;
    const packetId = p.packetId;
    this.#afterCommit(committed, () => {
      if (session.inflight.get(packetId) === record) this.#send({ type: "pubrel", packetId, reasonCode: 0 }); // [MQTT-4.3.3-4]
    });
  }

  #onPubcomp(p: AnyAckPacket): void {
    const record = this.session!.inflight.get(p.packetId);
    if (record === undefined || record.state !== "pubrel") return;
    if (this.host.completeOutgoing(this, record)) this.#pumpPending = true;
  }

  // ------------------------------------------------------------ subscribe

  #onSubscribe(p: SubscribePacket): void {
    const result = this.host.subscribe(this, p);
    if (result === "disconnected") return;
    // A lasting session's subscriptions are committed before SUBACK.
    this.#afterCommit(result.committed, () => {
      this.#send({ type: "suback", packetId: p.packetId, reasonCodes: this.version === 5 ? result.reasonCodes : result.reasonCodes.map((c) => (c >= 0x80 ? 0x80 : c)) }); // [MQTT-3.8.4-1]
      // Retained messages follow the SUBACK [MQTT-3.3.1-9]
      result.afterAck();
    });
  }

  #onUnsubscribe(p: UnsubscribePacket): void {
    const { reasonCodes, committed } = this.host.unsubscribe(this, p.topicFilters);
    const unsuback: Packet = { type: "unsuback", packetId: p.packetId, reasonCodes }; // [MQTT-3.10.4-4]
    this.#afterCommit(committed, () => this.#send(unsuback));
  }

  /**
   * Runs `then` (which sends an acknowledgement) once `committed` resolves,
   * while still connected, or now if there is nothing to wait for; a store
   * that fails to commit ends the connection instead of acknowledging.
   */
  #afterCommit(committed: Promise<unknown> | void | undefined, then: () => void): void {
    if (!committed) return then();
    committed.then(() => {
      if (this.state === "connected") then();
    }, this.#storeFailed);
  }

  readonly #storeFailed = (): void => this.disconnect(ReasonCode.UnspecifiedError, "the store failed to commit");

  // ----------------------------------------------------------- disconnect

  #onDisconnect(p: DisconnectPacket): void {
    const session = this.session!;
    const requested = p.properties?.sessionExpiryInterval;
    if (requested !== undefined) {
      if (session.expiryInterval === 0 && requested !== 0) {
        // Zero at CONNECT cannot become non-zero at DISCONNECT [MQTT-3.14.2-2]
        return this.disconnect(ReasonCode.ProtocolError, "session expiry interval set at DISCONNECT after 0 at CONNECT");
      }
      session.expiryInterval = Math.min(requested, this.host.limits.maximumSessionExpiryInterval);
    }
    // Reason 0x04 asks for the will; any other normal DISCONNECT discards it [MQTT-3.1.2-10]
    this.#normalDisconnect = p.reasonCode !== ReasonCode.DisconnectWithWillMessage;
    this.#disconnectReason = p.reasonCode;
    this.#closeNow();
  }

  /**
   * Ends the connection from the server side: DISCONNECT with a reason code
   * to a 5.0 client [MQTT-3.14.0-1], then close. The will is published.
   */
  disconnect(reasonCode: number, reason?: string): void {
    if (this.state === "closed") return;
    if (this.state === "connected" && this.version === 5) {
      this.#send({
        type: "disconnect",
        reasonCode,
        properties: reason && this.requestProblemInformation ? { reasonString: reason } : undefined,
      });
    }
    this.#disconnectReason = reasonCode;
    this.#closeNow();
  }

  #protocolFailure(e: MqttError): void {
    this.host.stats.protocolErrors++;
    if (this.state === "awaiting-connect") {
      // Before CONNECT is accepted, the answer is a CONNACK [MQTT-4.13.1-1]
      if (e.reasonCode === ReasonCode.UnsupportedProtocolVersion) {
        // The client's level is unknown, so answer as 3.1.1 does (0x01): every client can read it.
        this.version = 4;
        return this.#refuse(ReasonCode.UnsupportedProtocolVersion);
      }
      // Only a 5.0 CONNECT gets a CONNACK with a reason code; a bad 3.x CONNECT is closed
      // without one [MQTT-3.1.4-1] (3.1.1), and a first packet that is not CONNECT is not answered.
      if (this.#connectLevel() === 5 && CONNACK_REASON_CODES[e.reasonCode]) return this.#refuse(e.reasonCode, e.message);
      this.#closeNow();
      return;
    }
    this.disconnect(DISCONNECT_REASON_CODES[e.reasonCode] ? e.reasonCode : ReasonCode.MalformedPacket, e.message);
  }

  // The protocol level of a CONNECT at the start of the stream, if its first bytes say so.
  #connectLevel(): number | undefined {
    const h = this.#head;
    if (h[0] !== 0x10) return undefined;
    let i = 1;
    while (i < 5 && (h[i]! & 0x80) !== 0) i++;
    const at = i + 1 + 2 + ((h[i + 1]! << 8) | h[i + 2]!);
    return at < h.length ? h[at] : undefined;
  }

  #closeNow(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.duplex.close();
  }

  // --------------------------------------------------------------- output

  #send(packet: Packet): void {
    // Reason strings and user properties are dropped to fit the client's limit [MQTT-3.1.2-24].
    let bytes: Uint8Array;
    try {
      bytes = encodePacket(packet, this.version, this.clientMaximumPacketSize);
    } catch (e) {
      if (e instanceof MqttError) return; // cannot fit even without diagnostics: discard [MQTT-3.1.2-25]
      throw e;
    }
    this.write(bytes);
  }

  /** Writes encoded bytes, counting them and noting backpressure. */
  write(bytes: Uint8Array): void {
    this.host.stats.bytesSent += bytes.byteLength;
    this.host.stats.packetsSent++;
    if (!this.duplex.write(bytes)) this.backpressured = true;
  }

  /**
   * Sends one PUBLISH of a routed message. Returns false if it was too large
   * for the client and was discarded instead [MQTT-3.1.2-25].
   */
  sendPublish(record: OutgoingRecord, dup: boolean, now: number): boolean {
    const bytes = encodeOutgoingPublish(this, record, dup, now, this.clientTopicAliasMaximum > 0 ? (this.#outboundAliases ??= new Map()) : undefined);
    if (bytes === undefined) return false;
    this.host.stats.messagesSent++;
    this.write(bytes);
    return true;
  }

  /** Checks keep alive and the connect timeout; returns false if it closed the connection. */
  tick(now: number): boolean {
    if (this.state === "closed") return false;
    if (this.state !== "connected") {
      if (now - this.openedAt > this.host.limits.connectTimeout * 1000) {
        this.#closeNow();
        return false;
      }
      return true;
    }
    // One and a half keep alive periods without a packet ends the connection [MQTT-3.1.2-22]
    if (this.keepAlive > 0 && now - this.lastActivity > this.keepAlive * 1500) {
      this.disconnect(ReasonCode.KeepAliveTimeout, "no packet within 1.5 times the keep alive");
      return false;
    }
    // A session lasts no longer than the credential that opened it.
    if (this.credentialExpiresAt !== undefined && now >= this.credentialExpiresAt) {
      this.disconnect(ReasonCode.MaximumConnectTime, "the credential expired");
      return false;
    }
    return true;
  }

  /** Reports the QoS a subscription was granted, capped by the broker's maximum. */
  grant(qos: QoS): QoS {
    return Math.min(qos, this.host.features.maximumQoS) as QoS;
  }
}
