import type { Message } from "@edgemq/core";
import type { NatsConnection } from "@nats-io/transport-node";
import { type BacklogPosition, readBacklog } from "./message-backlog.ts";

//
// What a node missed while it was cut off from NATS (its server died, say):
// the QoS 1 and 2 messages other nodes published meanwhile, or that were on
// their way to it when its server went, read back from the messages stream
// once it is connected again and handed to its local sessions. Without it a
// lasting session connected to that node would miss what was acknowledged
// to its publisher on another node.
//

/** How many times the read is tried (a second apart): JetStream may take a few seconds to choose a new leader for the stream. */
const ATTEMPTS = 20;

/** What the read needs of the node's link. */
export interface OutageLink {
  readonly nc: NatsConnection;
  readonly connected: boolean;
  report(level: "info" | "warn" | "error", text: string): void;
}

/**
 * Reads what the stream holds under `prefix` since `position` (where the node
 * stood when NATS went) but for what reached the node live since (`live`),
 * handing each to `deliver`; tries again while JetStream does not answer.
 * Resolves with how many, or undefined when it gave up.
 */
export async function readMissed(
  link: OutageLink, stream: string, prefix: string, position: BacklogPosition, live: ReadonlySet<string>, deliver: (message: Message) => void,
): Promise<number | undefined> {
  let why = "";
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 1000));
    if (!link.connected) continue;
    try {
      return await readBacklog(link.nc, stream, prefix, position, deliver, live);
    } catch (e) {
      why = (e as Error).message;
    }
  }
  link.report("warn", `cluster: could not read back what was published while this node was cut off from NATS (${why}); its lasting sessions may miss some QoS 1 and 2 messages of that time`);
  return undefined;
}
