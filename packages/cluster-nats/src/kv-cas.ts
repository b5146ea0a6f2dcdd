import { JetStreamApiCodes, JetStreamApiError, jetstream } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";

/** True when a KV compare-and-set (create, or update at a revision) failed because the key moved on since it was read. */
export function lostRace(e: unknown): boolean {
  return e instanceof JetStreamApiError && (e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
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
