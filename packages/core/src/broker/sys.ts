import type { BrokerContext } from "./context.ts";
import type { Publisher } from "./publisher.ts";

/** What $SYS reports beyond the broker's counters. */
export interface SysFigures {
  version: string;
  startedAt: number;
  sessions: number;
  subscriptions: number;
}

const encoder = new TextEncoder();

/**
 * Publishes the broker's $SYS topics as retained QoS 0 messages, then
 * measures them, so that the retained quotas leave them out.
 */
export function publishSys(ctx: BrokerContext, publisher: Publisher, figures: SysFigures, now: number): void {
  const s = ctx.stats;
  const values: [string, string | number][] = [
    ["version", figures.version],
    ["uptime", Math.floor((now - figures.startedAt) / 1000)],
    ["clients/connected", s.connectionsCurrent],
    ["clients/total", figures.sessions],
    ["messages/received", s.messagesReceived],
    ["messages/sent", s.messagesSent],
    ["messages/dropped", s.messagesDropped],
    ["bytes/received", s.bytesReceived],
    ["bytes/sent", s.bytesSent],
    ["subscriptions/count", figures.subscriptions],
    // The clients' retained messages: the $SYS values retained at the last interval are the broker's own.
    ["retained messages/count", ctx.retained.size - publisher.sys.count],
  ];
  const out = { committed: undefined as Promise<unknown> | undefined };
  publisher.publishingSys = true;
  try {
    for (const [key, value] of values) {
      publisher.publish({
        topic: `$SYS/broker/${key}`, payload: encoder.encode(String(value)), qos: 0, retain: true,
        properties: undefined, expiresAt: undefined, senderId: "", receivedAt: now,
      }, undefined, out);
    }
  } finally {
    publisher.publishingSys = false;
  }
  let bytes = 0;
  const sys = ctx.retained.match("$SYS/#");
  for (const m of sys) bytes += m.payload.byteLength;
  publisher.sys.count = sys.length;
  publisher.sys.bytes = bytes;
}
