import { TenancyError } from "./errors.ts";

/** Longest DNS label (RFC 1035 §2.3.4). */
export const MAX_NAME_LENGTH = 63;

/**
 * Checks a namespace or broker name and returns it lower-cased. Names are DNS
 * labels (RFC 1035 §2.3.1: a letter first, then letters, digits and hyphens,
 * a letter or digit last, at most 63 characters), and case-insensitive, as
 * Cloudflare Pub/Sub had them, since they become `<broker>.<namespace>.<domain>`.
 */
export function normalizeName(kind: "namespace" | "broker", value: unknown): string {
  if (value === undefined || value === null || value === "") {
    throw new TenancyError("invalid", `a ${kind} needs a name: a DNS label such as "my-${kind}"`);
  }
  if (typeof value !== "string") throw new TenancyError("invalid", `a ${kind} name must be a string, not ${typeof value}`);
  const shown = JSON.stringify(value);
  if (value.length > MAX_NAME_LENGTH) {
    throw new TenancyError("invalid", `${kind} name ${shown} is ${value.length} characters long; a DNS label has at most ${MAX_NAME_LENGTH}`);
  }
  // Checked before lower-casing: "\u212A".toLowerCase() is an ASCII "k".
  if (!/^[A-Za-z0-9-]+$/.test(value)) {
    throw new TenancyError("invalid", `${kind} name ${shown} may contain only the letters a-z, the digits 0-9 and hyphens (it is a DNS label)`);
  }
  if (!/^[A-Za-z]/.test(value)) throw new TenancyError("invalid", `${kind} name ${shown} must start with a letter (it is a DNS label)`);
  if (value.endsWith("-")) throw new TenancyError("invalid", `${kind} name ${shown} must end with a letter or a digit (it is a DNS label)`);
  return value.toLowerCase();
}

/** A name as a lookup key: lower-cased, or undefined if it cannot be a name (and so names nothing). */
export function lookupName(value: string): string | undefined {
  try {
    return normalizeName("namespace", value);
  } catch {
    return undefined;
  }
}
