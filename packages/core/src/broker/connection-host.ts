import type { ConnectPacket, Will } from "../codec/packets/connect.ts";
import type { SubscribePacket } from "../codec/packets/subscribe.ts";
import { ReasonCode } from "../codec/reason-codes.ts";
import type { AttachOutcome, ConnectionHost, ConnectRefusal, PublishOutcome, SubscribeOutcome } from "../connection/host.ts";
import type { Message } from "../model/message.ts";
import type { OutgoingRecord } from "../model/outgoing-record.ts";
import type { BrokerEventKind, BrokerStats } from "../model/stats.ts";
import type { ConnInfo } from "../transport/duplex.ts";
import type { FeaturePolicy } from "../policy/features.ts";
import type { AuthResult, ReauthContext } from "../policy/hook.ts";
import type { Limits } from "../policy/limits.ts";
import type { MemoryBudget } from "../policy/memory-budget.ts";
import type { PublishHookPipeline } from "../policy/publish-hook.ts";
import type { Store } from "../store/store.ts";
import type { BrokerContext } from "./context.ts";
import type { Delivery } from "./delivery.ts";
import type { Inbound } from "./inbound.ts";
import type { BrokerConnection, Session } from "./session.ts";
import type { SessionRegistry } from "./session-registry.ts";
import type { Subscriptions } from "./subscriptions.ts";

/** The parts of a broker its connections reach. */
export interface HostParts {
  registry: SessionRegistry;
  inbound: Inbound;
  subscriptions: Subscriptions;
  delivery: Delivery;
}

/**
 * The broker as its connections see it: each call of the connection machine
 * handed to the part of the broker whose job it is.
 */
export class BrokerHost implements ConnectionHost<Session, BrokerConnection> {
  readonly limits: Limits;
  readonly features: FeaturePolicy;
  readonly stats: BrokerStats;
  readonly memoryBudget: MemoryBudget;
  readonly store: Store;
  readonly now: () => number;
  readonly #ctx: BrokerContext;
  readonly #registry: SessionRegistry;
  readonly #inbound: Inbound;
  readonly #subscriptions: Subscriptions;
  readonly #delivery: Delivery;

  constructor(ctx: BrokerContext, parts: HostParts) {
    this.#ctx = ctx;
    this.limits = ctx.limits;
    this.features = ctx.features;
    this.stats = ctx.stats;
    this.memoryBudget = ctx.memoryBudget;
    this.store = ctx.store;
    this.now = ctx.now;
    this.#registry = parts.registry;
    this.#inbound = parts.inbound;
    this.#subscriptions = parts.subscriptions;
    this.#delivery = parts.delivery;
  }

  /** Tells the hooks of a refusal, a protocol error or a rate limit. */
  event(kind: BrokerEventKind, clientId: string, conn: ConnInfo, reasonCode: number, detail?: string): void {
    this.#ctx.hooks.event(kind, clientId, conn, reasonCode, detail);
  }

  /** The on-publish hook in use (it may be replaced while clients are connected). */
  get publishHook(): PublishHookPipeline | undefined {
    return this.#ctx.publishHook;
  }

  /** Whether a hook runs this enhanced authentication method. */
  offersAuthenticationMethod(method: string): boolean {
    return this.#ctx.hooks.offersMethod(method);
  }

  /** Runs the authentication hooks for a CONNECT (with a method, only the hooks that run it). */
  authenticate(conn: BrokerConnection, packet: ConnectPacket): AuthResult | Promise<AuthResult> {
    const hooks = this.#ctx.hooks;
    const method = packet.properties?.authenticationMethod;
    // Anonymous access never stands in for an enhanced authentication nobody completed.
    const fallback: AuthResult = this.#ctx.allowAnonymous && method === undefined
      ? { allow: true }
      : { deny: packet.username === undefined ? ReasonCode.NotAuthorized : ReasonCode.BadUserNameOrPassword, reason: "no credentials were accepted" };
    if (!hooks.hasAuthenticators) return fallback;
    return hooks.authenticate({ packet, conn: conn.duplex.info }, fallback);
  }

  /** Runs re-authentication hooks; none answering is a failure (0x87 Not authorized). */
  reauthenticate(_conn: BrokerConnection, ctx: ReauthContext): AuthResult | Promise<AuthResult> {
    return this.#ctx.hooks.reauthenticate(ctx, { deny: ReasonCode.NotAuthorized, reason: "re-authentication was not accepted" });
  }

  /** See {@link SessionRegistry.admitConnect}. */
  admitConnect(conn: BrokerConnection, clientId: string): ConnectRefusal | undefined {
    return this.#registry.admitConnect(conn, clientId);
  }

  /** See {@link SessionRegistry.attach}. */
  attach(conn: BrokerConnection, clientId: string, cleanStart: boolean, expiryInterval: number): AttachOutcome<Session> {
    return this.#registry.attach(conn, clientId, cleanStart, expiryInterval);
  }

  /** See {@link SessionRegistry.connected}. */
  connected(conn: BrokerConnection): void {
    this.#registry.connected(conn);
  }

  /** See {@link SessionRegistry.detach}. */
  detach(conn: BrokerConnection, wasConnected: boolean, will: Will | undefined, reasonCode: number): void {
    this.#registry.detach(conn, wasConnected, will, reasonCode);
  }

  /** See {@link Inbound.admit}. */
  admitPublish(conn: BrokerConnection, message: Message): number {
    return this.#inbound.admit(conn, message);
  }

  /** See {@link Inbound.accept}. */
  acceptPublish(conn: BrokerConnection, message: Message, qos2PacketId: number | undefined, outcome: PublishOutcome): void {
    this.#inbound.accept(conn, message, qos2PacketId, outcome);
  }

  /** See {@link Subscriptions.subscribe}. */
  subscribe(conn: BrokerConnection, packet: SubscribePacket): SubscribeOutcome | "disconnected" {
    return this.#subscriptions.subscribe(conn, packet);
  }

  /** See {@link Subscriptions.unsubscribe}. */
  unsubscribe(conn: BrokerConnection, filters: string[]): { reasonCodes: number[]; committed: Promise<unknown> | undefined } {
    return this.#subscriptions.unsubscribe(conn, filters);
  }

  /** See {@link Delivery.complete}. */
  completeOutgoing(conn: BrokerConnection, record: OutgoingRecord): boolean {
    return this.#delivery.complete(conn.session!, record);
  }

  /** See {@link Delivery.pump}. */
  pump(conn: BrokerConnection): void {
    this.#delivery.pump(conn);
  }
}
