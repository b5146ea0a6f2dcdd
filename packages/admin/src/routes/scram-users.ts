// A broker's SCRAM users (MQTT 5 enhanced authentication, SCRAM-SHA-256/512).
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Registry } from "@edgemq/tenancy";
import { type AdminEnv, pathParam } from "../auth.ts";
import { ok, page, route } from "../route.ts";
import { ScramUserCreateSchema, ScramUserSchema, ScramUsersQuery } from "../schemas/scram-users.ts";

/** Mounts the SCRAM user routes. */
export function scramUserRoutes(app: OpenAPIHono<AdminEnv>, registry: Registry): void {
  const tag = "SCRAM users";
  const at = (c: Parameters<typeof pathParam>[0]) => [pathParam(c, "namespace"), pathParam(c, "broker")] as const;
  const B = "/namespaces/{namespace}/brokers/{broker}/scram-users";

  route(app, registry, {
    method: "get", path: B, id: "listScramUsers", tag, summary: "List the broker's SCRAM users",
    description: "Names, iteration counts and mechanisms; never a password, salt or key.",
    needs: "brokers:read", exists: "broker", query: ScramUsersQuery, paged: ScramUserSchema,
  }, (c, { query }) => page(c, registry.scramUsers(...at(c)), (u) => u, query));

  route(app, registry, {
    method: "post", path: B, id: "putScramUser", tag, summary: "Add a SCRAM user, or set a new password",
    description: "Only the salt, iteration count, StoredKey and ServerKey (RFC 5802) are kept, for SCRAM-SHA-256 and SCRAM-SHA-512; the password is not. "
      + "The user logs in with MQTT 5 enhanced authentication (Authentication Method `SCRAM-SHA-256` or `SCRAM-SHA-512`) at once.",
    needs: "brokers:write", exists: "broker", body: ScramUserCreateSchema, bodyName: "the SCRAM user", result: ScramUserSchema,
  }, async (c, { body }) => ok(c, await registry.putScramUser(...at(c), body.username, body.password, body.iterations)));

  route(app, registry, {
    method: "delete", path: `${B}/{username}`, id: "deleteScramUser", tag, summary: "Remove a SCRAM user",
    description: "It can no longer log in; connections it has open stay until they end.",
    needs: "brokers:write", exists: "broker",
  }, async (c) => {
    await registry.deleteScramUser(...at(c), pathParam(c, "username"));
    return ok(c, null);
  });
}
