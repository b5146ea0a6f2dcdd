// SCRAM's messages (RFC 5802 §5, §7) as text: parsed from a client,
// formatted for it. Attribute values are checked where the server relies on them.

/** Bytes as standard base64. */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.byteLength; i++) s += String.fromCharCode(bytes[i]!);
  return btoa(s);
}

/** Standard base64 as bytes; undefined when it is not base64. */
export function fromBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** A malformed SCRAM message: the exchange fails with this text (RFC 5802 §7 server-error values where one fits). */
export class ScramError extends Error {}

// `a=1,b=2` as ordered pairs; each attribute is one letter (RFC 5802 §5.1).
function attributes(text: string): [string, string][] {
  return text.split(",").map((part) => {
    if (!/^[a-zA-Z]=/.test(part)) throw new ScramError(`"${part}" is not a SCRAM attribute (a letter, "=", a value)`);
    return [part[0]!, part.slice(2)];
  });
}

// saslname: "=2C" stands for "," and "=3D" for "="; any other "=" is malformed (RFC 5802 §5.1).
function decodeSaslName(name: string): string {
  if (/=(?!2C|3D)/.test(name)) throw new ScramError("invalid-encoding: a user name's \"=\" must be =2C or =3D");
  return name.replace(/=2C/g, ",").replace(/=3D/g, "=");
}

/** The client's first message, split. */
export interface ClientFirst {
  /** The GS2 header (`n,,` or `y,,`), echoed in the final message's channel binding. */
  gs2Header: string;
  /** The message without the header: part of the AuthMessage. */
  bare: string;
  username: string;
  nonce: string;
}

/** Parses client-first-message; channel binding (`p=`) and `a=` authzid are refused, as edgemq offers neither. */
export function parseClientFirst(text: string): ClientFirst {
  const m = /^([ny]),(a=[^,]*)?,(.*)$/.exec(text);
  if (m === null) {
    if (text.startsWith("p=")) throw new ScramError("server-does-support-channel-binding: edgemq offers SCRAM without channel binding (-PLUS)");
    throw new ScramError("the first message must start with the GS2 header n,, (no channel binding)");
  }
  if (m[2] !== undefined) throw new ScramError("an authorization identity (a=) is not supported: leave it out");
  const bare = m[3]!;
  const attrs = attributes(bare);
  if (attrs[0]?.[0] === "m") throw new ScramError("extensions-not-supported");
  if (attrs[0]?.[0] !== "n" || attrs[1]?.[0] !== "r") throw new ScramError("the first message must be n=<user>,r=<nonce>");
  const nonce = attrs[1][1];
  if (nonce.length === 0 || !/^[\x21-\x2b\x2d-\x7e]+$/.test(nonce)) throw new ScramError("the client nonce must be printable ASCII without commas");
  return { gs2Header: `${m[1]},,`, bare, username: decodeSaslName(attrs[0][1]), nonce };
}

/** The client's final message, split. */
export interface ClientFinal {
  /** The message up to ",p=": part of the AuthMessage. */
  withoutProof: string;
  channelBinding: string;
  nonce: string;
  proof: Uint8Array;
}

/** Parses client-final-message. */
export function parseClientFinal(text: string): ClientFinal {
  const at = text.lastIndexOf(",p=");
  if (at < 0) throw new ScramError("the final message must end with ,p=<proof>");
  const withoutProof = text.slice(0, at);
  const attrs = attributes(withoutProof);
  if (attrs[0]?.[0] !== "c" || attrs[1]?.[0] !== "r") throw new ScramError("the final message must be c=<binding>,r=<nonce>,p=<proof>");
  const proof = fromBase64(text.slice(at + 3));
  if (proof === undefined) throw new ScramError("invalid-encoding: the proof is not base64");
  return { withoutProof, channelBinding: attrs[0][1], nonce: attrs[1][1], proof };
}

/** server-first-message: the combined nonce, the salt and the iteration count. */
export function formatServerFirst(nonce: string, salt: Uint8Array, iterations: number): string {
  return `r=${nonce},s=${toBase64(salt)},i=${iterations}`;
}
