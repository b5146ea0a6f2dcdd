import { headers, type Msg, type NatsConnection } from "@nats-io/transport-node";

// An answer larger than the NATS server's max_payload goes as parts, each headed with its answer's id and `<i>/<n>`.
const ANSWER = "Edgemq-Answer";
const PART = "Edgemq-Part";
// Room left in each part for its headers.
const HEADROOM = 512;

/** Answers `msg` with `data`: one message when it fits the server's max_payload, else as many parts as it takes (in order, on one connection). */
export function respondInParts(nc: NatsConnection, msg: Msg, data: Uint8Array): void {
  const size = Math.max(1024, (nc.info?.max_payload ?? 1024 * 1024) - HEADROOM);
  if (data.length <= size) {
    msg.respond(data);
    return;
  }
  const id = crypto.randomUUID();
  const n = Math.ceil(data.length / size);
  for (let i = 0; i < n; i++) {
    const h = headers();
    h.set(ANSWER, id);
    h.set(PART, `${i + 1}/${n}`);
    msg.respond(data.subarray(i * size, (i + 1) * size), { headers: h });
  }
}

/** A reply's whole answer: the reply itself, or, for the last part of an answer sent in parts, all of them joined; undefined while parts are missing. */
export function assemble(reply: Msg, parts: Map<string, Uint8Array[]>): Uint8Array | undefined {
  const id = reply.headers?.get(ANSWER);
  if (id === undefined || id === "") return reply.data;
  const [i, n] = (reply.headers!.get(PART) ?? "").split("/").map(Number) as [number, number];
  if (!(n > 0 && i >= 1 && i <= n)) return undefined;
  const got = parts.get(id) ?? [];
  parts.set(id, got);
  got[i - 1] = reply.data;
  if (got.filter((p) => p !== undefined).length < n) return undefined;
  parts.delete(id);
  const whole = new Uint8Array(got.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of got) {
    whole.set(p, at);
    at += p.length;
  }
  return whole;
}
