// A broker's credentials, public keys, key rotation and revocations.
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import type { Registry } from "@edgemq/tenancy";
import { type AdminEnv, pathParam } from "../auth.ts";
import { ApiError, ErrorCode } from "../envelope.ts";
import { jtiParams } from "../query.ts";
import { ok, page, route } from "../route.ts";
import { CredentialsQuery, IssuedCredentialsSchema, JtiQuery, PublicKeysSchema, RevocationsQuery } from "../schemas/credentials.ts";

/** Mounts the credential, key and revocation routes. */
export function credentialRoutes(app: OpenAPIHono<AdminEnv>, registry: Registry): void {
  const tag = "Credentials";
  const at = (c: Parameters<typeof pathParam>[0]) => [pathParam(c, "namespace"), pathParam(c, "broker")] as const;
  const B = "/namespaces/{namespace}/brokers/{broker}";

  route(app, registry, {
    method: "get", path: `${B}/credentials`, id: "issueCredentials", tag, summary: "Issue credentials",
    description: "Issued with GET, as on Cloudflare. Each credential is a JWT (EdDSA) to use as the MQTT password, with the client id as `sub`.",
    needs: "credentials:issue", exists: "broker", query: CredentialsQuery, result: IssuedCredentialsSchema,
  }, async (c, { query }) => {
    if (query.type.toUpperCase() !== "TOKEN") throw new ApiError(400, ErrorCode.Unsupported, `credentials of type ${JSON.stringify(query.type)} are not issued; use type=TOKEN`);
    const clientIds = [...query.clientid ?? [], ...query.clientId ?? []];
    const issued = await registry.issueCredentials(...at(c), { number: query.number, expiration: query.expiration, clientIds, topicAcl: query.topicAcl });
    return ok(c, Object.fromEntries(issued.map((x) => [x.clientId, x.token])));
  });

  route(app, registry, {
    method: "get", path: `${B}/publickeys`, id: "getPublicKeys", tag, summary: "Get the broker's public keys",
    description: "The keys that verify its credentials, newest first.", needs: "brokers:read", result: PublicKeysSchema,
  }, (c) => ok(c, { keys: registry.publicKeys(...at(c)) }));

  route(app, registry, {
    method: "post", path: `${B}/keys/rotate`, id: "rotateKeys", tag, summary: "Rotate the broker's keys",
    description: "edgemq's: a new key signs from now on, the current one still verifies, the one before it no longer does. Returns the new public keys.",
    needs: "brokers:write", result: PublicKeysSchema,
  }, async (c) => ok(c, { keys: await registry.rotateKeys(...at(c)) }));

  route(app, registry, {
    method: "get", path: `${B}/revocations`, id: "listRevocations", tag, summary: "List revoked credentials",
    needs: "brokers:read", exists: "broker", query: RevocationsQuery, paged: z.string().openapi({ description: "A revoked `jti`; oldest first." }),
  }, (c, { query }) => page(c, registry.revocations(...at(c)), (r) => r.jti, query));

  route(app, registry, {
    method: "post", path: `${B}/revocations`, id: "revokeCredentials", tag, summary: "Revoke credentials",
    description: "Refused at CONNECT from now on; live sessions using them get DISCONNECT 0x98 at once.",
    needs: "brokers:write", exists: "broker", query: JtiQuery,
  }, async (c) => {
    await registry.revoke(...at(c), jtiParams(new URL(c.req.url).searchParams));
    return ok(c, null);
  });

  route(app, registry, {
    method: "delete", path: `${B}/revocations`, id: "unrevokeCredentials", tag, summary: "Take revocations back",
    needs: "brokers:write", exists: "broker", query: JtiQuery,
  }, async (c) => {
    await registry.unrevoke(...at(c), jtiParams(new URL(c.req.url).searchParams));
    return ok(c, null);
  });
}
