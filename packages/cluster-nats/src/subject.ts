//
// MQTT topics onto NATS subjects. A topic level becomes one subject token
// written in a small alphabet: letters, digits, `_` and `-` as they are,
// every other UTF-8 byte as `~XX` (upper-case hex), an empty level as a lone
// `~`. So no topic can hold a `.`, `*`, `>` or white space that would split
// a token or widen it into a wildcard, and the mapping is total and
// reversible: subjectToTopic(topicToSubject(t)) === t for every topic.
//

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });
const HEX = "0123456789ABCDEF";

/**
 * The longest subject sent or subscribed to. nats-server refuses a control
 * line (`MSG <subject> <sid> <size>`) over 4 KiB by closing the connection,
 * which would cut every broker of the node off; longer topics stay local.
 */
export const MAX_SUBJECT_BYTES = 3900;

// Letters, digits, `_` and `-`: the characters a token keeps as they are.
function plain(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2d;
}

/** One topic level (or a broker name) as one subject token. */
export function escapeToken(level: string): string {
  if (level === "") return "~";
  let simple = true;
  for (let i = 0; i < level.length; i++) {
    if (!plain(level.charCodeAt(i))) {
      simple = false;
      break;
    }
  }
  if (simple) return level;
  let out = "";
  for (const b of enc.encode(level)) out += plain(b) ? String.fromCharCode(b) : `~${HEX[b >> 4]}${HEX[b & 15]}`;
  return out;
}

/** The level a token stands for; throws on a token no topic maps to. */
export function unescapeToken(token: string): string {
  if (token === "~") return "";
  if (!token.includes("~")) return token;
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c !== 0x7e) {
      bytes.push(c);
      continue;
    }
    const hex = token.slice(i + 1, i + 3);
    if (!/^[0-9A-F]{2}$/.test(hex)) throw new Error(`not an escaped topic level: ${token}`);
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  return dec.decode(new Uint8Array(bytes));
}

/**
 * The subject prefix that carries every message of one broker,
 * `<root>.<broker>.msg.*`: what a node subscribes under. The last token says
 * how the message travels (see {@link durablePrefix}); it is as long as the
 * wildcard, so {@link subjectToTopic} reads both kinds under this prefix.
 */
export function messagePrefix(root: string, broker: string): string {
  return `${root}.${escapeToken(broker)}.msg.*`;
}

/** The prefix one broker's messages are published under: `….msg.1` for QoS 1 and 2 (which the messages stream keeps), `….msg.0` for QoS 0. */
export function durablePrefix(root: string, broker: string, durable: boolean): string {
  return `${root}.${escapeToken(broker)}.msg.${durable ? 1 : 0}`;
}

/** The subject a message on `topic` is published on, under `prefix`. */
export function topicToSubject(prefix: string, topic: string): string {
  let subject = prefix;
  for (const level of topic.split("/")) subject += `.${escapeToken(level)}`;
  return subject;
}

// Topics of recent subjects, by prefix: a subject is read once, not once per
// message (at most 4,096 per prefix, then forgotten at once).
const topics = new Map<string, Map<string, string>>();

/** The topic of a subject published under `prefix` (the inverse of {@link topicToSubject}). */
export function subjectToTopic(prefix: string, subject: string): string {
  let known = topics.get(prefix);
  if (known === undefined) topics.set(prefix, (known = new Map()));
  let topic = known.get(subject);
  if (topic === undefined) {
    topic = subject.slice(prefix.length + 1).split(".").map(unescapeToken).join("/");
    if (known.size >= 4096) known.clear();
    known.set(subject, topic);
  }
  return topic;
}

/**
 * The subjects that carry every topic an MQTT filter (no `$share/` part)
 * matches: `+` is `*`, a trailing `#` is `>` plus the parent level, which
 * `#` matches too [MQTT-4.7.1-2]. A bare `#` is `>` alone (no topic has zero levels).
 */
export function filterToSubjects(prefix: string, filter: string): string[] {
  const levels = filter.split("/");
  const tokens = levels.map((l, i) => (l === "+" ? "*" : l === "#" && i === levels.length - 1 ? ">" : escapeToken(l)));
  const subject = `${prefix}.${tokens.join(".")}`;
  if (tokens.at(-1) !== ">" || tokens.length === 1) return [subject];
  return [subject, `${prefix}.${tokens.slice(0, -1).join(".")}`];
}

