import {
  API_ROLES, type ApiRole, type ApiTokenRecord, newId, normalizeName, type Registry, TenancyError, timestamp,
} from "@edgemq/tenancy";

/** The start of every generated API token, so that secret scanners can spot one. */
export const TOKEN_PREFIX = "emq_";
/** Shortest API token accepted from configuration. */
export const MIN_CONFIGURED_TOKEN_LENGTH = 16;
/** Longest API token looked at. */
export const MAX_TOKEN_LENGTH = 512;
/** Longest API token name. */
export const MAX_TOKEN_NAME_LENGTH = 100;

/** A new API token secret: the prefix and 256 random bits, base64url. Opaque, not a JWT. */
export function generateApiToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return TOKEN_PREFIX + btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** SHA-256 of a token, lowercase hex: all that is stored of it. */
export async function hashApiToken(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/** The token record a secret belongs to, if any. */
export async function authenticateApiToken(registry: Registry, token: string): Promise<ApiTokenRecord | undefined> {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined;
  return registry.apiTokenByHash(await hashApiToken(token));
}

/** An API token to create. */
export interface NewApiToken {
  name: string;
  role: ApiRole;
  /** `*` (the default) for every namespace, or a list of namespace names (which need not exist yet). */
  namespaces?: "*" | string[];
  source?: ApiTokenRecord["source"];
}

/** Checks a token's role and scope as given in a request or configuration. */
export function checkTokenFields(input: { name?: unknown; role?: unknown; namespaces?: unknown }): Pick<ApiTokenRecord, "name" | "role" | "namespaces"> {
  const { name, role, namespaces } = input;
  if (typeof name !== "string" || name.trim() === "" || name.length > MAX_TOKEN_NAME_LENGTH) {
    throw new TenancyError("invalid", `an API token needs a name: a string of 1 to ${MAX_TOKEN_NAME_LENGTH} characters`);
  }
  if (!API_ROLES.includes(role as ApiRole)) {
    throw new TenancyError("invalid", `role must be one of ${API_ROLES.join(", ")}, not ${JSON.stringify(role)}`);
  }
  let scope: "*" | string[];
  if (namespaces === undefined || namespaces === "*") scope = "*";
  else if (Array.isArray(namespaces) && namespaces.length > 0) scope = [...new Set(namespaces.map((n) => normalizeName("namespace", n)))];
  else throw new TenancyError("invalid", `namespaces must be "*" (every namespace) or a non-empty list of namespace names`);
  return { name, role: role as ApiRole, namespaces: scope };
}

/** Creates an API token; the secret is returned this once and only its hash is kept. */
export async function createApiToken(registry: Registry, input: NewApiToken): Promise<{ token: string; record: ApiTokenRecord }> {
  const fields = checkTokenFields(input);
  const token = generateApiToken();
  const record: ApiTokenRecord = {
    id: newId(), ...fields, hash: await hashApiToken(token), source: input.source ?? "api", created_on: timestamp(registry.now()),
  };
  await registry.putApiToken(record);
  return { token, record };
}

/** Whether a token is an Admin over every namespace (the kind that manages tokens). */
export function isSuperAdmin(t: Pick<ApiTokenRecord, "role" | "namespaces">): boolean {
  return t.role === "Admin" && t.namespaces === "*";
}

/** How to make sure someone can administer the server. */
export interface BootstrapOptions {
  /** An Admin token from configuration (at least 16 characters); it replaces any earlier configured one. */
  adminToken?: string;
}

/** What {@link bootstrap} did. */
export interface BootstrapResult {
  /** A newly generated Admin token, to print once; undefined otherwise. */
  token: string | undefined;
  /** Whether a token record was created. */
  created: boolean;
}

/**
 * Makes sure an Admin token exists. With `adminToken` (from configuration),
 * that token becomes an Admin for every namespace, and an earlier configured
 * token stops working. Without it, when no Admin for every namespace exists
 * (first start), one is generated and returned, once: print it.
 */
export async function bootstrap(registry: Registry, options: BootstrapOptions = {}): Promise<BootstrapResult> {
  const configured = options.adminToken;
  if (configured !== undefined) {
    if (configured.length < MIN_CONFIGURED_TOKEN_LENGTH || configured.length > MAX_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(configured)) {
      throw new TenancyError("invalid", `the configured admin API token must be ${MIN_CONFIGURED_TOKEN_LENGTH} to ${MAX_TOKEN_LENGTH} printable ASCII characters without spaces`);
    }
    const hash = await hashApiToken(configured);
    for (const t of registry.apiTokens()) {
      if (t.source === "configuration" && t.hash !== hash) await registry.deleteApiToken(t.id);
    }
    const existing = registry.apiTokenByHash(hash);
    if (existing !== undefined && isSuperAdmin(existing)) return { token: undefined, created: false };
    await registry.putApiToken({
      id: existing?.id ?? newId(), name: "admin (from configuration)", role: "Admin", namespaces: "*", hash,
      source: "configuration", created_on: existing?.created_on ?? timestamp(registry.now()),
    });
    return { token: undefined, created: existing === undefined };
  }
  if (registry.apiTokens().some(isSuperAdmin)) return { token: undefined, created: false };
  const { token } = await createApiToken(registry, { name: "admin (generated at first start)", role: "Admin", namespaces: "*", source: "generated" });
  return { token, created: true };
}
