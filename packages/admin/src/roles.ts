import type { ApiRole, ApiTokenRecord } from "../../tenancy/src/records.ts";

/** What a route needs a token to be allowed. */
export type Permission =
  | "namespaces:read"
  | "namespaces:write"
  | "brokers:read"
  | "brokers:write"
  | "credentials:issue"
  | "tokens:manage";

/**
 * The roles Cloudflare planned: Admin may do everything; User may view
 * namespaces and create, change and delete brokers, issue credentials,
 * revoke them and rotate keys; Viewer may only view (namespaces, brokers,
 * public keys, revocations), and cannot issue credentials.
 */
export const ROLE_PERMISSIONS: Record<ApiRole, ReadonlySet<Permission>> = {
  Admin: new Set(["namespaces:read", "namespaces:write", "brokers:read", "brokers:write", "credentials:issue", "tokens:manage"]),
  User: new Set(["namespaces:read", "brokers:read", "brokers:write", "credentials:issue"]),
  Viewer: new Set(["namespaces:read", "brokers:read"]),
};

/** Words for what a permission allows, for 403 messages. */
export const PERMISSION_WORDS: Record<Permission, string> = {
  "namespaces:read": "view namespaces",
  "namespaces:write": "create or delete namespaces",
  "brokers:read": "view brokers",
  "brokers:write": "create, change or delete brokers, rotate their keys or revoke credentials",
  "credentials:issue": "issue credentials",
  "tokens:manage": "manage API tokens",
};

/** Whether a token may act on a namespace (names are compared lower-cased). */
export function inScope(token: Pick<ApiTokenRecord, "namespaces">, namespace: string): boolean {
  return token.namespaces === "*" || token.namespaces.includes(namespace.toLowerCase());
}
