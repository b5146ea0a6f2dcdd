//
// The keys of the tenancy KV bucket, one per record, so that a change is one
// small write and a watch hands over one record at a time:
//   ns.<namespace>                      a NamespaceRecord
//   broker.<namespace>.<broker>         a BrokerRecord (keys, limits, preset, on_publish, scram_users)
//   revoked.<namespace>.<broker>.<jti>  a revocation's time (one key per jti: up to 10,000 per broker)
//   token.<id>                          an ApiTokenRecord
//   meta.seeded                         set once, by the node that seeded an empty bucket
// KV keys allow only [-/_=.a-zA-Z0-9]; each token is escaped to that alphabet.
//

/** What a key of the tenancy bucket names. */
export type TenancyKey =
  | { kind: "namespace"; name: string }
  | { kind: "broker"; namespace: string; name: string }
  | { kind: "revocation"; namespace: string; broker: string; jti: string }
  | { kind: "apiToken"; id: string }
  | { kind: "meta"; name: string };

const KEPT = /^[A-Za-z0-9_-]$/;
const encoder = new TextEncoder();

/**
 * One token of a KV key for any string: letters, digits, `_` and `-` stay,
 * every other byte of its UTF-8 is `=XX` (hex, upper case), and the empty
 * string is `=`. Total and reversible ({@link decodeKeyToken}); never a `.`,
 * `*` or `>`, so a token cannot split or widen a key.
 */
export function encodeKeyToken(text: string): string {
  if (text === "") return "=";
  let out = "";
  for (const ch of text) {
    if (KEPT.test(ch)) out += ch;
    else for (const byte of encoder.encode(ch)) out += `=${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The string {@link encodeKeyToken} encoded; throws on a token it cannot have written. */
export function decodeKeyToken(token: string): string {
  if (token === "=") return "";
  if (!/^(?:[A-Za-z0-9_-]|=[0-9A-F]{2})+$/.test(token)) throw new Error(`not an encoded key token: ${token}`);
  const bytes: number[] = [];
  for (let i = 0; i < token.length;) {
    if (token[i] === "=") {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      bytes.push(token.charCodeAt(i));
      i += 1;
    }
  }
  return new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes));
}

/** The bucket key of a record. */
export function tenancyKey(key: TenancyKey): string {
  const e = encodeKeyToken;
  switch (key.kind) {
    case "namespace": return `ns.${e(key.name)}`;
    case "broker": return `broker.${e(key.namespace)}.${e(key.name)}`;
    case "revocation": return `revoked.${e(key.namespace)}.${e(key.broker)}.${e(key.jti)}`;
    case "apiToken": return `token.${e(key.id)}`;
    case "meta": return `meta.${e(key.name)}`;
  }
}

/** The keys of every revocation of one broker, as a KV filter. */
export function revocationsFilter(namespace: string, broker: string): string {
  return `revoked.${encodeKeyToken(namespace)}.${encodeKeyToken(broker)}.>`;
}

/** What a bucket key names; undefined for a key edgemq does not write. */
export function parseTenancyKey(key: string): TenancyKey | undefined {
  let parts: string[];
  try {
    parts = key.split(".").map(decodeKeyToken);
  } catch {
    return undefined;
  }
  const [kind, a, b, c] = parts;
  switch (`${kind}/${parts.length}`) {
    case "ns/2": return { kind: "namespace", name: a! };
    case "broker/3": return { kind: "broker", namespace: a!, name: b! };
    case "revoked/4": return { kind: "revocation", namespace: a!, broker: b!, jti: c! };
    case "token/2": return { kind: "apiToken", id: a! };
    case "meta/2": return { kind: "meta", name: a! };
    default: return undefined;
  }
}
