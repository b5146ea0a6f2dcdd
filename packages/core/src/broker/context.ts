import type { ClientInfo } from "../model/client.ts";
import type { Message } from "../model/message.ts";
import type { BrokerStats } from "../model/stats.ts";
import type { HookChain } from "../policy/chain.ts";
import type { FeaturePolicy } from "../policy/features.ts";
import type { Limits } from "../policy/limits.ts";
import type { MemoryBudget } from "../policy/memory-budget.ts";
import type { PublishHookPipeline } from "../policy/publish-hook.ts";
import type { Store } from "../store/store.ts";
import type { RetainedStore } from "./retained.ts";

/**
 * What the broker's parts share: its settings, counters and retained
 * messages. The facade ({@link Broker}) is one; the parts take it as this
 * interface, so that none of them imports the facade.
 */
export interface BrokerContext {
  readonly name: string;
  readonly now: () => number;
  readonly store: Store;
  readonly features: FeaturePolicy;
  readonly limits: Limits;
  readonly hooks: HookChain;
  readonly stats: BrokerStats;
  readonly retained: RetainedStore;
  /** The process-wide budget for bytes held in partial packets and queues. */
  readonly memoryBudget: MemoryBudget;
  allowAnonymous: boolean;
  publishHook: PublishHookPipeline | undefined;
}

/** Who an offline session's client was, when nothing said: an anonymous 5.0 client. */
export function anonymousClient(clientId: string): ClientInfo {
  return { clientId, username: undefined, protocolVersion: 5, conn: { remoteAddress: "", remotePort: 0, transport: "memory" }, attributes: {} };
}

/**
 * The $SYS messages held among the retained ones, which the retained quotas
 * leave out: they are the broker's own, not the clients' to spend.
 */
export interface SysRetained {
  count: number;
  bytes: number;
}

/**
 * Whether a retained message fits the retained count and bytes quotas
 * (replacing one on its topic frees that one's room).
 */
export function retainedFits(ctx: BrokerContext, sys: SysRetained, message: Pick<Message, "topic" | "payload">): boolean {
  const maxCount = ctx.limits.maximumRetainedMessages;
  const maxBytes = ctx.limits.maximumRetainedBytes;
  const size = message.payload.byteLength;
  const count = ctx.retained.size - sys.count;
  const bytes = ctx.retained.bytes - sys.bytes;
  if ((maxCount === 0 || count < maxCount) && (maxBytes === 0 || bytes + size <= maxBytes)) return true;
  const old = ctx.retained.get(message.topic);
  if (old === undefined) return false;
  return maxBytes === 0 || bytes - old.payload.byteLength + size <= maxBytes;
}
