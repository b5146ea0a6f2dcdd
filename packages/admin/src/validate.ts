import { invalid } from "./envelope.ts";

/** A request body: a JSON object. */
export type Body = Record<string, unknown>;

/** Parses a request body as a JSON object; an empty body is `{}`. */
export function parseBody(text: string): Body {
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw invalid(`the request body is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(value)) throw invalid(`the request body must be a JSON object, not ${kind(value)}`);
  return value;
}

/** Whether a value is a JSON object (not null, not an array). */
export function isObject(value: unknown): value is Body {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** What a JSON value is, for error messages: `a string`, `an array`, `null`... */
export function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "number") return `the number ${value}`;
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === "boolean") return `the boolean ${value}`;
  return typeof value;
}

// ---------------------------------------------------------------- base64

/** Bytes as standard base64 (with padding). */
export function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** Standard base64 (padding optional; base64url's `-` and `_` accepted) to bytes; a 400 naming `name` otherwise. */
export function fromBase64(text: string, name: string): Uint8Array {
  const s = text.replace(/\s+/g, "").replaceAll("-", "+").replaceAll("_", "/");
  if (!BASE64.test(s)) throw invalid(`${name} is not valid base64; encode the bytes as standard base64, such as "aGVsbG8="`);
  const bin = atob(s.length % 4 === 0 ? s : s + "=".repeat(4 - (s.length % 4)));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
