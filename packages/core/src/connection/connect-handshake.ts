import { ConnectionBase } from "./connection-base.ts";
import { type Packet } from "../codec/packet.ts";
import type { ConnectPacket } from "../codec/packets/connect.ts";
import type { AuthPacket } from "../codec/packets/disconnect.ts";
import { ReasonCode } from "../codec/reason-codes.ts";
import { NEVER_EXPIRES } from "../codec/constants.ts";
import type { AuthResult } from "../policy/hook.ts";
import { AuthExchange } from "./auth-exchange.ts";
import { connackProperties } from "./connack.ts";
import { ConnectRefused } from "./connect-refused.ts";
import type { ConnectionSession } from "./host.ts";

/** The CONNECT handshake: checks, authentication (with enhanced authentication exchanges), session attach and CONNACK. */
export abstract class ConnectHandshake<S extends ConnectionSession = ConnectionSession> extends ConnectionBase<S> {

  protected _onConnect(p: ConnectPacket): void {
    const host = this.host;
    this.version = p.protocolVersion;
    this.client.protocolVersion = p.protocolVersion;
    this.client.username = p.username;
    this._requestedClientId = p.clientId;
    if (!host.features.protocolVersions.includes(p.protocolVersion)) {
      return this._refuse(ReasonCode.UnsupportedProtocolVersion, `protocol level ${p.protocolVersion} is not offered by this broker`); // [MQTT-3.1.2-2]
    }
    const method = p.properties?.authenticationMethod;
    if (method !== undefined) {
      if (!host.offersAuthenticationMethod(method)) return this._refuse(ReasonCode.BadAuthenticationMethod, `authentication method ${method} is not supported`);
      this._auth = new AuthExchange(method, p);
    }
    if (p.clientId.length > host.limits.maximumClientIdLength) {
      return this._refuse(ReasonCode.ClientIdentifierNotValid, `client identifier longer than ${host.limits.maximumClientIdLength}`); // [MQTT-3.1.3-5]
    }
    if (p.clientId.length === 0) {
      if (p.protocolVersion === 3 || (p.protocolVersion === 4 && !p.cleanStart)) {
        // 3.1.1 needs Clean Session = 1 with an empty id [MQTT-3.1.3-8] (3.1.1); 3.1 needs an id.
        return this._refuse(ReasonCode.ClientIdentifierNotValid, "an empty client identifier needs clean session");
      }
    }
    if (p.will) {
      if (p.will.qos > host.features.maximumQoS) {
        return this._refuse(ReasonCode.QoSNotSupported, `will QoS ${p.will.qos} is above the maximum QoS ${host.features.maximumQoS}`); // [MQTT-3.2.2-12]
      }
      if (p.will.retain && !host.features.retainAvailable) {
        return this._refuse(ReasonCode.RetainNotSupported, "retained wills are not available"); // [MQTT-3.2.2-13]
      }
    }
    const props = p.properties;
    if (props?.receiveMaximum !== undefined) this.sendWindow = props.receiveMaximum;
    if (props?.maximumPacketSize !== undefined) this.clientMaximumPacketSize = props.maximumPacketSize;
    if (props?.topicAliasMaximum !== undefined) this.clientTopicAliasMaximum = Math.min(props.topicAliasMaximum, host.limits.topicAliasMaximum);
    if (props?.requestProblemInformation === false) this.requestProblemInformation = false;
    this.state = "authenticating";
    this._settleConnect(p, host.authenticate(this, p));
  }

  protected _settleConnect(p: ConnectPacket, result: AuthResult | Promise<AuthResult>): void {
    if (result instanceof Promise) {
      result.then(
        (r) => this._completeConnect(p, r),
        (e: unknown) => {
          // A hook that throws is the operator's problem, not the client's: its error goes to the hooks' onEvent, the client hears only 0x80.
          if (this.state === "authenticating") this.host.event("hook_failed", p.clientId, this.client.conn, ReasonCode.UnspecifiedError, `authentication hook failed: ${e instanceof Error ? e.message : String(e)}`);
          this._completeConnect(p, { deny: ReasonCode.UnspecifiedError, reason: "authentication failed" });
        },
      );
    } else {
      this._completeConnect(p, result);
    }
  }

  protected _completeConnect(p: ConnectPacket, result: AuthResult): void {
    if (this.state !== "authenticating") return; // the socket closed while we waited
    if (result === "next") result = { deny: ReasonCode.NotAuthorized, reason: "no hook accepted the client" };
    if ("continue" in result) {
      // Enhanced authentication: ask the client for its next step in AUTH [MQTT-4.12.0-2]
      if (this._auth === undefined) result = { deny: ReasonCode.ProtocolError, reason: "an authentication step without an authentication method" };
      else {
        this._send(this._auth.challenge(result));
        // What came after the CONNECT is read now: the AUTH answer among it.
        const pending = this._pendingWhileAuthenticating;
        this._pendingWhileAuthenticating = undefined;
        for (const bytes of pending ?? []) this._decoder.push(bytes);
        this._drainDecoder();
        return;
      }
    }
    if ("deny" in result) {
      this.state = "awaiting-connect";
      return this._refuse(result.deny, result.reason);
    }
    const host = this.host;
    let clientId = p.clientId;
    let assigned = false;
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
    // An enhanced authentication names the user itself (SCRAM's n=): access rules see that name.
    if (result.username !== undefined) this.client.username = result.username;
    // Who the client is and which session it names are known now: quotas and the session's owner may refuse it.
    const refusal = host.admitConnect(this, clientId);
    if (refusal !== undefined) {
      this.state = "awaiting-connect";
      return this._refuse(refusal.reasonCode, refusal.reason); // 3.1.1: 0x97 is 3 Server unavailable, 0x87 is 5 Not authorized
    }
    if (this._auth !== undefined) {
      this._auth.finalData = result.data;
      this._auth.connect = undefined;
    }
    this.credentialExpiresAt = result.expiresAt;
    if (host.features.willMessages) this._will = p.will;

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
    const outcome = host.attach(this, clientId, p.cleanStart, expiry);
    const committed = outcome.committed;
    this.session = outcome.session;
    this._everConnected = true; // attached: the end of the socket detaches it
    // Read once committed: a session another node hands over makes it present.
    const finish = () => this._finishConnect(outcome.sessionPresent, assigned, serverKeepAlive, expiryCapped, expiry);
    // CONNACK confirms the session only once the store holds it; packets that
    // arrive meanwhile wait, as they do while authenticating.
    if (committed === undefined) finish();
    else committed.then(finish, (e: unknown) => this._sessionNotSaved(e));
  }

  // The session could not be saved (a full disk, a failed store) or claimed: the
  // client is answered with CONNACK 0x89 Server busy (3.1.1: 3 Server unavailable),
  // a condition of the server and not of the client, which may try again later;
  // a claim refused for the session's owner says so (0x87).
  protected _sessionNotSaved(e: unknown): void {
    if (this.state !== "authenticating") return; // the socket closed, or the session was taken over, while we waited
    this._will = undefined; // never accepted, so its will was never in force
    if (e instanceof ConnectRefused) return this._refuse(e.reasonCode, e.message);
    this._refuse(ReasonCode.ServerBusy, "the server could not save the session; try again later");
  }

  protected _finishConnect(sessionPresent: boolean, assigned: boolean, serverKeepAlive: number | undefined, expiryCapped: boolean, expiry: number): void {
    if (this.state !== "authenticating") return; // the socket closed, or the session was taken over, while we waited
    const host = this.host;
    const clientId = this.client.clientId;
    this._decoder.maximumPacketSize = host.limits.maximumPacketSize;
    this.state = "connected";
    this._head = undefined;
    this._send({
      type: "connack",
      sessionPresent, // [MQTT-3.2.2-2], [MQTT-3.2.2-3]
      reasonCode: ReasonCode.Success,
      properties: this.version === 5
        ? connackProperties(host.features, host.limits, {
          assignedClientIdentifier: assigned ? clientId : undefined, serverKeepAlive, sessionExpiryInterval: expiryCapped ? expiry : undefined,
          authenticationMethod: this._auth?.method, authenticationData: this._auth?.finalData, // [MQTT-4.12.0-5]
        })
        : undefined,
    });
    host.connected(this);
    // Packets that arrived while authenticating are processed now, in order.
    const pending = this._pendingWhileAuthenticating;
    this._pendingWhileAuthenticating = undefined;
    if (pending !== undefined) for (const bytes of pending) this._decoder.push(bytes);
    this._drainDecoder();
  }

  // A packet while an enhanced authentication step waits for the client's AUTH.
  protected _onAuthBeforeConnack(packet: Packet): void {
    const auth = this._auth!;
    const connect = auth.connect!;
    // Once the exchange has begun, only the client's AUTH may come before CONNACK (§4.12).
    const step = packet.type === "auth" ? auth.answer(packet) : ReasonCode.ProtocolError;
    if (typeof step === "number") {
      this.state = "awaiting-connect";
      return this._refuse(step, packet.type === "auth" ? "unexpected AUTH in the authentication exchange" : `${packet.type.toUpperCase()} before the authentication exchange ended`);
    }
    this._settleConnect(connect, step.next((packet as AuthPacket).properties?.authenticationData));
  }

  // AUTH while connected: re-authentication (0x19), or the client's answer to a step of one.
  protected _onReauthenticate(p: AuthPacket): void {
    const auth = this._auth;
    // Without an Authentication Method at CONNECT there is nothing to re-authenticate [MQTT-4.12.1-1]
    if (auth === undefined) return this.disconnect(ReasonCode.ProtocolError, "AUTH without an authentication method");
    // Another method is a Protocol Error: 0x8C Bad authentication method is not a DISCONNECT reason code (§3.14.2.1)
    if (p.properties?.authenticationMethod !== auth.method) return this.disconnect(ReasonCode.ProtocolError, "re-authentication must use the method of the CONNECT"); // [MQTT-4.12.1-1]
    let result: AuthResult | Promise<AuthResult>;
    // One re-authentication at a time: a storm of 0x19 would run the hook without bound.
    if (p.reasonCode === ReasonCode.ReAuthenticate && auth.reauthenticating) return this.disconnect(ReasonCode.ProtocolError, "a re-authentication is already in progress");
    if (p.reasonCode === ReasonCode.ReAuthenticate && auth.step === undefined) {
      auth.reauthenticating = true;
      auth.reauthDeadline = this.host.now() + this.host.limits.connectTimeout * 1000;
      result = this.host.reauthenticate(this, { client: this.client, method: auth.method, data: p.properties?.authenticationData });
    } else {
      const step = auth.reauthenticating ? auth.answer(p) : ReasonCode.ProtocolError;
      if (typeof step === "number") return this.disconnect(step, "unexpected AUTH");
      result = step.next(p.properties?.authenticationData);
    }
    const settle = (r: AuthResult): void => {
      if (this.state !== "connected") return;
      if (r === "next") r = { deny: ReasonCode.NotAuthorized, reason: "re-authentication was not accepted" };
      if ("continue" in r) return this._send(auth.challenge(r));
      auth.reauthenticating = false;
      // A failed re-authentication ends the connection [MQTT-4.12.1-2]
      if ("deny" in r) return this.disconnect(r.deny, r.reason);
      if (r.attributes) this.client.attributes = r.attributes;
      // The new proof decides how long the connection may last (a fresh JWT moves its end) [MQTT-4.12.1-2]
      this.credentialExpiresAt = r.expiresAt;
      if (r.username !== undefined) this.client.username = r.username;
      this._send(auth.success(r.data));
    };
    if (result instanceof Promise) result.then(settle, () => settle({ deny: ReasonCode.UnspecifiedError, reason: "re-authentication failed" }));
    else settle(result);
  }
}
