import type { ApiRole, ApiTokenRecord } from "@edgemq/tenancy";

/** What a route needs a token to be allowed. */
export type Permission =
  | "namespaces:read"
  | "namespaces:write"
  | "brokers:read"
  | "brokers:write"
  | "credentials:issue"
  | "clients:read"
  | "clients:disconnect"
  | "retained:delete"
  | "messages:publish"
  | "tokens:manage"
  | "default:manage";

/**
 * The roles Cloudflare planned: Admin may do everything; User may view
 * namespaces and create, change and delete brokers, issue credentials,
 * revoke them and rotate keys; Viewer may only view (namespaces, brokers,
 * public keys, revocations), and cannot issue credentials.
 *
 * Beyond Cloudflare, on a broker's live state: every role may view its
 * clients, sessions, subscriptions and retained messages; Admin and User
 * may also disconnect clients, delete retained messages and publish, since
 * those change what the broker's clients see. As everywhere, only within the
 * token's namespaces.
 *
 * The default broker (connections no tenant broker claims) belongs to no
 * tenant: only an Admin token for every namespace may view or act on it.
 */
export const ROLE_PERMISSIONS: Record<ApiRole, ReadonlySet<Permission>> = {
  Admin: new Set([
    "namespaces:read", "namespaces:write", "brokers:read", "brokers:write", "credentials:issue",
    "clients:read", "clients:disconnect", "retained:delete", "messages:publish", "tokens:manage",
    "default:manage",
  ]),
  User: new Set([
    "namespaces:read", "brokers:read", "brokers:write", "credentials:issue",
    "clients:read", "clients:disconnect", "retained:delete", "messages:publish",
  ]),
  Viewer: new Set(["namespaces:read", "brokers:read", "clients:read"]),
};

/** Words for what a permission allows, for 403 messages. */
export const PERMISSION_WORDS: Record<Permission, string> = {
  "namespaces:read": "view namespaces",
  "namespaces:write": "create or delete namespaces",
  "brokers:read": "view brokers",
  "brokers:write": "create, change or delete brokers, rotate their keys or revoke credentials",
  "credentials:issue": "issue credentials",
  "clients:read": "view a broker's clients, sessions, subscriptions or retained messages",
  "clients:disconnect": "disconnect clients",
  "retained:delete": "delete retained messages",
  "messages:publish": "publish messages",
  "tokens:manage": "manage API tokens",
  "default:manage": "view or act on the default broker",
};

/** Whether a token may act on a namespace (names are compared lower-cased). */
export function inScope(token: Pick<ApiTokenRecord, "namespaces">, namespace: string): boolean {
  return token.namespaces === "*" || token.namespaces.includes(namespace.toLowerCase());
}
