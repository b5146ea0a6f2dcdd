import type { SessionBacklog } from "@edgemq/core";
import type { KV } from "@nats-io/kv";
import type { ReadHeld } from "./held-qos2.ts";
import { type BacklogPosition, type BacklogSource, isBacklogPosition } from "./message-backlog.ts";
import { type Checkpoint, checkpointKey, type OwnerRecord } from "./owner-record.ts";
import type { Qos2Marks } from "./qos2-marks.ts";

//
// What a node reads of a session whose node is gone, to resume it from its
// record: where it stood (the gone run's last checkpoint), the QoS 2
// exchanges that run held for it, and what it missed in the messages stream.
//

/** How long after a gone run's QoS 2 state was taken its keys are deleted: by then the new owner has written its own. */
export const DROP_HELD_AFTER_MS = 10_000;

/** What these reads need of the node (see OwnershipNode). */
export interface GoneOwnerNode {
  readonly kv: KV;
  readHeld(broker: string, clientId: string, incarnation: number): Promise<ReadHeld>;
  dropHeld(keys: readonly string[]): void;
  backlogOf(broker: string): BacklogSource | undefined;
  report(level: "info" | "warn" | "error", text: string): void;
}

/** What the gone run of `owner` held of the session's QoS 2 exchanges (undefined when it cannot be read); its keys go once this node has written its own. */
export async function readHeldOf(node: GoneOwnerNode, broker: string, owner: OwnerRecord, clientId: string): Promise<ReadHeld | undefined> {
  try {
    const held = await node.readHeld(broker, clientId, owner.incarnation);
    if (held.keys.length > 0) setTimeout(() => node.dropHeld(held.keys), DROP_HELD_AFTER_MS).unref?.();
    return held;
  } catch (e) {
    node.report("warn", `cluster: could not read the QoS 2 exchanges client id ${JSON.stringify(clientId)} had on node ${owner.node} (${(e as Error).message}); its messages in flight are sent again as new ones`);
    return undefined;
  }
}

/**
 * What a session left by a gone node missed since `position` (its record's,
 * or its node's last checkpoint), when there is one; `sent`: how far it was
 * sent each origin run's messages at QoS 2 (in flight, resent as they are, or finished).
 */
export function goneBacklog(node: GoneOwnerNode, broker: string, owner: OwnerRecord, position: unknown, sent?: Qos2Marks): SessionBacklog | undefined {
  const source = node.backlogOf(broker);
  if (source === undefined || !isBacklogPosition(position)) return undefined;
  const clientId = JSON.stringify(owner.session?.clientId);
  return (deliver) => source.backlog(position, deliver, sent).then((n) => {
    node.report("info", `cluster: client id ${clientId}, whose node ${owner.node} is gone, resumed here with ${n} message(s) read back from the messages stream`);
  }, (e: Error) => {
    node.report("warn", `cluster: could not read what client id ${clientId} missed from the messages stream (${e.message}); it resumes without it`);
  });
}

/** Where the connected sessions of `owner`'s node run stood at its last checkpoint; from `since` without one. */
export async function checkpointOf(node: GoneOwnerNode, broker: string, owner: OwnerRecord, since: number): Promise<BacklogPosition> {
  const entry = await node.kv.get(checkpointKey(broker, owner.node, owner.incarnation)).catch(() => null);
  const position = entry === null || entry.operation !== "PUT" ? undefined : entry.json<Checkpoint>().position;
  return isBacklogPosition(position) ? position : { at: since, seen: {} };
}
