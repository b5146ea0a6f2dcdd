import { JetStreamApiCodes, JetStreamApiError, jetstream } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";

/** True when a KV compare-and-set (create, or update at a revision) failed because the key moved on since it was read. */
export function lostRace(e: unknown): boolean {
  return e instanceof JetStreamApiError && (e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

/**
 * True when JetStream had no responder for a write: on NATS servers that
 * just started (or just made the bucket) the bucket's subjects take a moment
 * to reach every server. Nothing was written, so the write may be tried again.
 */
export function notServedYet(e: unknown): boolean {
  return e instanceof Error && e.name === "JetStreamNotEnabled";
}

/** Runs `write` again while JetStream has no responder for it, for at most `ms`. */
export async function whileNotServed<T>(write: () => Promise<T>, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await write();
    } catch (e) {
      if (!notServedYet(e) || Date.now() >= until) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * Opens (creating when missing) a node-wide KV bucket of history 1 whose
 * requests wait at most 2 s: a connection or a will waits for its writes,
 * and a NATS server that does not answer in time is better refused than
 * waited on. Rejects when the NATS server has no JetStream.
 */
export async function openNodeBucket(nc: NatsConnection, bucket: string, description: string, replicas: number): Promise<KV> {
  const kvm = new Kvm(jetstream(nc, { timeout: 2000 }));
  const options = { history: 1, replicas, description };
  // Two nodes starting at once may both create it: the second try opens the first's.
  return kvm.create(bucket, options).catch(() => kvm.create(bucket, options));
}
