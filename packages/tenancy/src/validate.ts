import { MAX_CREDENTIALS_PER_CALL, parseTopicAcl, TopicAclError } from "@edgemq/credentials";
import type { HookDestinations } from "./hook-destinations.ts";
import { TenancyError } from "./errors.ts";
import { AUTH_TYPES, type AuthType, type BrokerRecord } from "./records.ts";
import type { BrokerUpdate, CredentialRequest } from "./registry-types.ts";

/** Longest description of a namespace or broker (characters). */
export const MAX_DESCRIPTION_LENGTH = 1024;
/** Longest client id a credential is issued for (characters). */
export const MAX_CREDENTIAL_CLIENT_ID_LENGTH = 256;
/** Longest `jti` accepted for revocation (characters). */
export const MAX_JTI_LENGTH = 128;

const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const JTI = /^[\x21-\x2b\x2d-\x7e]+$/; // printable ASCII without space or comma

/** A refusal of the caller's input (the admin API answers 400). */
export const invalid = (message: string): TenancyError => new TenancyError("invalid", message);

/** The brokers' DNS domain, lower-cased and without a final dot. */
export function checkDomain(domain: string): string {
  const d = domain.toLowerCase().replace(/\.$/, "");
  if (!DOMAIN.test(d)) throw invalid(`domain "${domain}" is not a DNS name such as "pubsub.example.com"`);
  return d;
}

/** The auth types a registry enables, each one known. */
export function checkAuthTypes(types: readonly AuthType[]): readonly AuthType[] {
  for (const t of types) if (!AUTH_TYPES.includes(t)) throw invalid(`unknown auth type "${t}"; use ${AUTH_TYPES.join(", ")}`);
  return types;
}

/** A new broker's auth type (any case), which must be known and enabled on this server. */
export function checkAuthType(value: unknown, enabled: readonly AuthType[]): AuthType {
  const t = typeof value === "string" ? value.toUpperCase() : value;
  if (!AUTH_TYPES.includes(t as AuthType)) throw invalid(`authType must be one of ${AUTH_TYPES.join(", ")}, not ${JSON.stringify(value)}`);
  if (!enabled.includes(t as AuthType)) {
    const why = String(t).startsWith("MTLS") ? ": client certificates need a TLS listener that verifies them against a configured CA" : "";
    throw new TenancyError("unsupported", `auth type ${String(t)} is not enabled on this server (it accepts ${enabled.join(", ")})${why}`);
  }
  return t as AuthType;
}

/** A description: a string of at most MAX_DESCRIPTION_LENGTH characters; none is "". */
export function checkDescription(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw invalid(`description must be a string, not ${typeof value}`);
  if (value.length > MAX_DESCRIPTION_LENGTH) throw invalid(`description is ${value.length} characters long; at most ${MAX_DESCRIPTION_LENGTH}`);
  return value;
}

/** A broker's expiration: whole seconds of at least 1, or null for none. */
export function checkExpiration(value: unknown): number | null {
  if (value === null) return null;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw invalid(`expiration must be a whole number of seconds of at least 1, or null for none; got ${JSON.stringify(value)}`);
  }
  return value;
}

/** An update's on_publish over the current one: `{fail_open}` alone keeps the URL. */
export function mergeOnPublish(current: BrokerRecord["on_publish"], update: NonNullable<BrokerUpdate["on_publish"]> | null): unknown {
  if (update === null || typeof update !== "object" || "url" in update) return update;
  if (current === null) throw invalid("on_publish.fail_open needs a hook: give on_publish.url too");
  return { ...current, ...update };
}

/** An on-publish hook: an http(s) URL and fail_open; no URL means no hook. */
export function checkOnPublish(value: unknown, destinations: HookDestinations): { url: string; fail_open: boolean } | null {
  if (value === null) return null;
  if (typeof value !== "object" || Array.isArray(value)) throw invalid(`on_publish must be an object {"url": "https://..."} or null`);
  const url = (value as { url?: unknown }).url;
  if (url === null || url === undefined || url === "") return null;
  if (typeof url !== "string") throw invalid("on_publish.url must be a string, or null to remove the hook");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(`on_publish.url "${url}" is not a URL`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw invalid(`on_publish.url "${url}" must be an https:// (or http://) URL`);
  const refused = destinations.refusalOfUrl(url);
  if (refused !== undefined) throw invalid(`on_publish.url "${url}" is refused: ${refused}`);
  const failOpen = (value as { fail_open?: unknown }).fail_open ?? false;
  if (typeof failOpen !== "boolean") throw invalid(`on_publish.fail_open must be true or false, not ${JSON.stringify(failOpen)}`);
  return { url, fail_open: failOpen };
}

function checkClientId(id: unknown): void {
  if (typeof id !== "string" || id === "") throw invalid("a client id must be a non-empty string");
  if (id.length > MAX_CREDENTIAL_CLIENT_ID_LENGTH) throw invalid(`client id "${id.slice(0, 32)}…" is longer than ${MAX_CREDENTIAL_CLIENT_ID_LENGTH} characters`);
  if (/[\u0000-\u001f\u007f]/.test(id)) throw invalid(`client id ${JSON.stringify(id)} contains control characters`);
}

/** A credential request's count, client ids, expiration and topicAcl; returns how many credentials to issue. */
export function checkCredentialRequest(request: CredentialRequest): number {
  const number = request.number ?? 1;
  if (!Number.isSafeInteger(number) || number < 1 || number > MAX_CREDENTIALS_PER_CALL) {
    throw invalid(`number must be an integer from 1 to ${MAX_CREDENTIALS_PER_CALL}`);
  }
  const clientIds = request.clientIds ?? [];
  for (const id of clientIds) checkClientId(id);
  const seen = new Set<string>();
  for (const id of clientIds) {
    if (seen.has(id)) throw invalid(`client id "${id}" is given twice`);
    seen.add(id);
  }
  const total = Math.max(number, clientIds.length);
  if (total > MAX_CREDENTIALS_PER_CALL) throw invalid(`at most ${MAX_CREDENTIALS_PER_CALL} credentials are issued per call, not ${total}`);
  const expiration = request.expiration;
  if (expiration !== undefined && expiration !== -1 && (!Number.isSafeInteger(expiration) || expiration < 1)) {
    throw invalid("expiration must be a whole number of seconds of at least 1, or -1 for no expiry of its own (the broker's expiration, if it has one, still applies)");
  }
  try {
    parseTopicAcl(request.topicAcl);
  } catch (e) {
    if (e instanceof TopicAclError) throw invalid(e.message);
    throw e;
  }
  return total;
}

/** Credential ids to revoke or take back: at least one, each a valid jti; duplicates dropped. */
export function checkJtis(jtis: string[]): string[] {
  if (jtis.length === 0) throw invalid("give at least one jti");
  for (const jti of jtis) {
    if (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_JTI_LENGTH || !JTI.test(jti)) {
      throw invalid(`jti ${JSON.stringify(jti)} is not a credential id (printable ASCII without spaces or commas, at most ${MAX_JTI_LENGTH} characters)`);
    }
  }
  return [...new Set(jtis)];
}
