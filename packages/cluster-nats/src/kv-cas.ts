import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";

/** True when a KV compare-and-set (create, or update at a revision) failed because the key moved on since it was read. */
export function lostRace(e: unknown): boolean {
  return e instanceof JetStreamApiError && (e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}
