import type { Message } from "../model/message.ts";
import type { ClientInfo } from "../model/client.ts";
import { isWellFormedUtf8 } from "../codec/utf8.ts";

/**
 * One PUBLISH as an on-publish hook sees it: Cloudflare's `PubSubMessage`.
 * `payload` is a string when `payloadFormatIndicator` is 1 (UTF-8), bytes otherwise.
 */
export interface HookMessage {
  /** The message's index within its batch: the reply refers to it. */
  mid: number;
  /** The broker's name (the server puts its FQDN here). */
  broker: string;
  topic: string;
  clientId: string;
  /** The credential id (JWT `jti`) the publisher authenticated with, when there is one. */
  jti?: string;
  /** When the broker received it, in Unix seconds. */
  receivedAt: number;
  contentType: string | null;
  payloadFormatIndicator: 0 | 1;
  payload: string | Uint8Array;
}

/**
 * The hook: messages in, the messages to deliver out (possibly changed). A
 * thrown error or a rejected promise is a failure: the batch is dropped, or
 * delivered unchanged when the hook fails open.
 */
export type OnPublishHandler = (messages: HookMessage[]) => readonly unknown[] | Promise<readonly unknown[]>;

/** How a broker runs its on-publish hook. */
export interface OnPublishOptions {
  handler: OnPublishHandler;
  /** On failure deliver the batch unchanged instead of dropping it. Default false. */
  failOpen?: boolean;
  /** Most messages in one call. Default 100. */
  maxBatch?: number;
  /** Most calls in progress at once. Default 4. */
  maxInFlight?: number;
  /** Most messages waiting for a verdict in this broker; above it publishers are paused. Default 10000. */
  maxPending?: number;
  /** Most messages waiting for a verdict per connection; above it that publisher is paused. Default 1000. */
  maxPendingPerConnection?: number;
}

/** Counts of what the hook decided, per message. */
export interface HookStats {
  /** Returned unchanged and delivered. */
  delivered: number;
  /** Returned changed and delivered. */
  modified: number;
  /** Left out of the reply, or returned with a changed topic or mid. */
  dropped: number;
  /** Dropped because the call failed (error, non-200, invalid reply, timeout). */
  failed: number;
  /** Delivered unchanged because the call failed and the hook fails open. */
  failedOpen: number;
  /** Calls made. */
  calls: number;
}

/** What the hook decided for one message. */
export type HookOutcome = { deliver: Message } | { refuse: number };

/** One message waiting for the hook, in its publisher's order. */
export interface HookEntry {
  message: Message;
  client: ClientInfo;
  /** Told once the outcome is set. */
  owner: { hookSettled(): void; readonly closed: boolean };
  outcome: HookOutcome | undefined;
}

// Reason codes used here (core's table, repeated to keep this file free of the codec).
const NOT_AUTHORIZED = 0x87;
const UNSPECIFIED_ERROR = 0x80;
const PAYLOAD_FORMAT_INVALID = 0x99;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/**
 * A broker's on-publish hook: batches the messages waiting for a verdict,
 * calls the handler with at most `maxInFlight` batches at once and sets each
 * message's outcome. It holds no timer: {@link flush} runs once per chunk a
 * connection reads, and again whenever a call ends.
 */
export class PublishHookPipeline {
  readonly stats: HookStats;
  readonly options: Required<OnPublishOptions>;
  readonly #brokerName: string;
  // Messages not yet in a call, per publisher, each in its order.
  readonly #waiting = new Map<HookEntry["owner"], HookEntry[]>();
  #waitingCount = 0;
  #inFlight = 0;
  #pending = 0;
  // Owners paused because the broker-wide bound was reached; resumed once below half.
  readonly #paused = new Set<{ resumeFromHook(): void }>();

  /** `stats` continues a previous hook's counts (it keeps counting what that one still settles). */
  constructor(options: OnPublishOptions, brokerName: string, stats?: HookStats) {
    this.stats = stats ?? { delivered: 0, modified: 0, dropped: 0, failed: 0, failedOpen: 0, calls: 0 };
    this.options = { failOpen: false, maxBatch: 100, maxInFlight: 4, maxPending: 10_000, maxPendingPerConnection: 1000, ...options };
    this.#brokerName = brokerName;
  }

  /** Messages waiting for a verdict: queued or in a call. */
  get pending(): number {
    return this.#pending;
  }

  /** Calls in progress. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Whether the broker-wide bound is reached: publishers should stop being read. */
  get full(): boolean {
    return this.#pending >= this.options.maxPending;
  }

  /** Queues a message for the next batch. */
  submit(entry: HookEntry): void {
    let queue = this.#waiting.get(entry.owner);
    if (queue === undefined) this.#waiting.set(entry.owner, (queue = []));
    queue.push(entry);
    this.#waitingCount++;
    this.#pending++;
  }

  /** Remembers a publisher paused for the broker-wide bound, to resume it later. */
  pausedForBroker(owner: { resumeFromHook(): void }): void {
    this.#paused.add(owner);
  }

  /** Starts calls for what waits, while fewer than `maxInFlight` are in progress. */
  flush(): void {
    const { maxBatch, maxInFlight } = this.options;
    while (this.#inFlight < maxInFlight && this.#waitingCount > 0) {
      const batch: HookEntry[] = [];
      // One message from each publisher in turn: one that floods does not make the others wait behind its backlog.
      while (batch.length < maxBatch && this.#waitingCount > 0) {
        for (const [owner, queue] of this.#waiting) {
          const entry = queue.shift()!;
          this.#waitingCount--;
          if (queue.length === 0) this.#waiting.delete(owner);
          // A publisher gone before its batch left needs no verdict.
          if (owner.closed) this.#pending--;
          else batch.push(entry);
          if (batch.length >= maxBatch) break;
        }
      }
      if (batch.length > 0) this.#call(batch);
    }
  }

  #call(batch: HookEntry[]): void {
    this.#inFlight++;
    this.stats.calls++;
    let result: Promise<readonly unknown[]>;
    try {
      result = Promise.resolve(this.options.handler(batch.map((e, i) => toHookMessage(e, i, this.#brokerName))));
    } catch (e) {
      result = Promise.reject(e);
    }
    result.then(
      (reply) => this.#judge(batch, reply),
      () => this.#fail(batch),
    ).then(() => {
      this.#inFlight--;
      this.#pending -= batch.length;
      // Each publisher routes what is settled at the head of its queue, in order.
      const owners = new Set(batch.map((e) => e.owner));
      for (const owner of owners) owner.hookSettled();
      if (this.#paused.size > 0 && this.#pending <= this.options.maxPending / 2) {
        const paused = [...this.#paused];
        this.#paused.clear();
        for (const o of paused) o.resumeFromHook();
      }
      this.flush();
    });
  }

  #fail(batch: HookEntry[]): void {
    const open = this.options.failOpen;
    for (const e of batch) e.outcome = open ? { deliver: e.message } : { refuse: UNSPECIFIED_ERROR };
    if (open) this.stats.failedOpen += batch.length;
    else this.stats.failed += batch.length;
  }

  #judge(batch: HookEntry[], reply: readonly unknown[]): void {
    const verdicts = parseReply(reply, batch.length);
    if (verdicts === undefined) return this.#fail(batch);
    batch.forEach((e, mid) => {
      const v = verdicts.get(mid);
      if (v === undefined || v.topic !== e.message.topic) {
        // Left out, or its topic changed (topics are read-only): dropped.
        this.stats.dropped++;
        e.outcome = { refuse: NOT_AUTHORIZED };
        return;
      }
      const outcome = applyReply(e.message, v);
      if ("refuse" in outcome) this.stats.dropped++;
      else if (outcome.deliver === e.message) this.stats.delivered++;
      else this.stats.modified++;
      e.outcome = outcome;
    });
  }
}

// A returned message, checked for shape.
interface ReplyMessage {
  topic: unknown;
  payload: string | Uint8Array;
  contentType: string | null | undefined;
  payloadFormatIndicator: 0 | 1 | undefined;
}

/**
 * The reply's messages by `mid`; undefined when the reply is not what the
 * contract says (not an array, an element that is not a message): the whole
 * batch has failed then. An unknown or repeated `mid` is ignored.
 */
export function parseReply(reply: unknown, size: number): Map<number, ReplyMessage> | undefined {
  if (!Array.isArray(reply)) return undefined;
  const out = new Map<number, ReplyMessage>();
  for (const item of reply) {
    if (typeof item !== "object" || item === null) return undefined;
    const m = item as Record<string, unknown>;
    const { payload, contentType, payloadFormatIndicator: pfi } = m;
    if (typeof payload !== "string" && !(payload instanceof Uint8Array)) return undefined;
    if (contentType !== undefined && contentType !== null && typeof contentType !== "string") return undefined;
    if (pfi !== undefined && pfi !== 0 && pfi !== 1) return undefined;
    const mid = m.mid;
    if (typeof mid !== "number" || !Number.isInteger(mid) || mid < 0 || mid >= size || out.has(mid)) continue;
    out.set(mid, { topic: m.topic, payload, contentType: contentType as string | null | undefined, payloadFormatIndicator: pfi as 0 | 1 | undefined });
  }
  return out;
}

// The message to deliver for a returned one: the original if nothing changed.
function applyReply(original: Message, v: ReplyMessage): HookOutcome {
  const payload = typeof v.payload === "string" ? encoder.encode(v.payload) : v.payload;
  const props = original.properties;
  const contentType = v.contentType === undefined ? props?.contentType : v.contentType ?? undefined;
  const pfi = v.payloadFormatIndicator === undefined ? props?.payloadFormatIndicator : v.payloadFormatIndicator;
  // A payload said to be UTF-8 must be well-formed UTF-8 (§3.3.2.3.2): a hook cannot make it otherwise.
  if (pfi === 1 && !isWellFormedUtf8(payload)) return { refuse: PAYLOAD_FORMAT_INVALID };
  const samePayload = sameBytes(payload, original.payload);
  if (samePayload && contentType === props?.contentType && (pfi ?? 0) === (props?.payloadFormatIndicator ?? 0)) return { deliver: original };
  const properties = { ...props };
  if (contentType === undefined) delete properties.contentType;
  else properties.contentType = contentType;
  if (pfi === 1) properties.payloadFormatIndicator = 1;
  else delete properties.payloadFormatIndicator;
  return { deliver: { ...original, payload, properties: Object.keys(properties).length > 0 ? properties : undefined, forms: undefined } };
}

/** A message as the hook receives it. */
export function toHookMessage(e: HookEntry, mid: number, broker: string): HookMessage {
  const m = e.message;
  const text = m.properties?.payloadFormatIndicator === 1;
  const jti = e.client.attributes.jti;
  return {
    mid,
    broker,
    topic: m.topic,
    clientId: e.client.clientId,
    ...(typeof jti === "string" ? { jti } : {}),
    receivedAt: Math.floor(m.receivedAt / 1000),
    contentType: m.properties?.contentType ?? null,
    payloadFormatIndicator: text ? 1 : 0,
    // UTF-8 payloads were checked on receipt, so decoding cannot fail.
    // A plain copy: the handler may keep or change it, and a runtime's subclass (Node's Buffer) stays out.
    payload: text ? utf8.decode(m.payload) : new Uint8Array(m.payload),
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
