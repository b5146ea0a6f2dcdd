import type { Message } from "../model/message.ts";
import type { SubscriptionEntry } from "../model/subscription.ts";
import type { AuthResult, ConnectContext, Decision, Hook, ReauthContext } from "./hook.ts";
import type { ClientInfo } from "../model/client.ts";
import type { BrokerEventKind } from "../model/stats.ts";
import type { ConnInfo } from "../transport/duplex.ts";

/** The result of a chain of deciders: allowed, or denied with a reason code. */
export type Verdict = { allowed: true } | { allowed: false; reasonCode: number; reason?: string };

const ALLOWED: Verdict = { allowed: true };

/**
 * Runs hooks in registration order. For decisions, the first `allow` or
 * `deny` wins; if every hook says `next`, `fallback` decides.
 */
export class HookChain {
  #hooks: Hook[] = [];
  #publishDeciders: Hook[] = [];
  #deliveryDeciders: Hook[] = [];
  #transformers: Hook[] = [];
  #eventObservers: Hook[] = [];

  /** Appends a hook. */
  use(hook: Hook): void {
    this.#hooks.push(hook);
    if (hook.authorizePublish) this.#publishDeciders.push(hook);
    if (hook.authorizeDelivery) this.#deliveryDeciders.push(hook);
    if (hook.transformPublish) this.#transformers.push(hook);
    if (hook.onEvent) this.#eventObservers.push(hook);
  }

  /** Runs `authenticate` hooks; the first that answers other than `next` wins. */
  async authenticate(ctx: ConnectContext, fallback: AuthResult): Promise<AuthResult> {
    // A CONNECT that names an enhanced authentication method is for the hooks that run it.
    const method = ctx.packet.properties?.authenticationMethod;
    for (const hook of this.#hooks) {
      if (!hook.authenticate) continue;
      if (method !== undefined && !hook.authenticationMethods?.includes(method)) continue;
      const result = await hook.authenticate(ctx);
      if (result !== "next") return result;
    }
    return fallback;
  }

  /** Whether some hook runs this enhanced authentication method. */
  offersMethod(method: string): boolean {
    return this.#hooks.some((h) => h.authenticate !== undefined && h.authenticationMethods?.includes(method) === true);
  }

  /** Runs `reauthenticate` hooks that list the method; the first that answers other than `next` wins. */
  async reauthenticate(ctx: ReauthContext, fallback: AuthResult): Promise<AuthResult> {
    for (const hook of this.#hooks) {
      if (!hook.reauthenticate || !hook.authenticationMethods?.includes(ctx.method)) continue;
      const result = await hook.reauthenticate(ctx);
      if (result !== "next") return result;
    }
    return fallback;
  }

  /** True if any hook decides on authentication. */
  get hasAuthenticators(): boolean {
    return this.#hooks.some((h) => h.authenticate);
  }

  /** Decides whether a client may publish a message. */
  authorizePublish(client: ClientInfo, message: Message): Verdict {
    for (const hook of this.#publishDeciders) {
      const d = hook.authorizePublish!(client, message);
      if (d !== "next") return verdict(d);
    }
    return ALLOWED;
  }

  /** Decides whether a client may subscribe. */
  authorizeSubscribe(client: ClientInfo, sub: SubscriptionEntry): Verdict {
    for (const hook of this.#hooks) {
      if (!hook.authorizeSubscribe) continue;
      const d = hook.authorizeSubscribe(client, sub);
      if (d !== "next") return verdict(d);
    }
    return ALLOWED;
  }

  /** Decides, at delivery, whether a client may receive a message. */
  authorizeDelivery(client: ClientInfo, message: Message): boolean {
    for (const hook of this.#deliveryDeciders) {
      const d = hook.authorizeDelivery!(client, message);
      if (d !== "next") return d === "allow";
    }
    return true;
  }

  /** True when some hook checks deliveries (so the hot path can skip the call). */
  get checksDelivery(): boolean {
    return this.#deliveryDeciders.length > 0;
  }

  /** Threads a message through the transformers; null means dropped. */
  transformPublish(client: ClientInfo, message: Message): Message | null {
    let m: Message | null = message;
    for (const hook of this.#transformers) {
      m = hook.transformPublish!(client, m);
      if (m === null) return null;
    }
    return m;
  }

  /** Tells observers a client connected. */
  connected(client: ClientInfo): void {
    for (const hook of this.#hooks) hook.onConnected?.(client);
  }

  /** Tells observers a client disconnected. */
  disconnected(client: ClientInfo, reasonCode: number): void {
    for (const hook of this.#hooks) hook.onDisconnected?.(client, reasonCode);
  }

  /** Tells observers of a refusal, denial, protocol error or drop. */
  event(kind: BrokerEventKind, clientId: string, conn: ConnInfo, reasonCode: number, detail?: string): void {
    for (const hook of this.#eventObservers) hook.onEvent!(kind, clientId, conn, reasonCode, detail);
  }

  /** Tells observers a message was accepted for routing. */
  published(client: ClientInfo, message: Message): void {
    for (const hook of this.#hooks) hook.onPublished?.(client, message);
  }
}

function verdict(d: Exclude<Decision, "next">): Verdict {
  return d === "allow" ? ALLOWED : { allowed: false, reasonCode: d.deny, reason: d.reason };
}
