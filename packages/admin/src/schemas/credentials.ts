// Credentials, keys, revocations and API tokens: what the API takes and answers, as zod schemas.
import { z } from "@hono/zod-openapi";
import { MAX_TOKEN_NAME_LENGTH } from "../tokens.ts";
import { normalizeName } from "@edgemq/tenancy";
import { checkedBy, rule } from "../issues.ts";
import { PAGE_QUERY, str, time } from "./common.ts";

const ROLES = ["Admin", "User", "Viewer"] as const;

/** `GET …/credentials`'s query. */
export const CredentialsQuery = z.object({
  number: rule(z.int().min(1).max(100).openapi({ description: "How many (default 1); given client ids count toward it." }), "a whole number from 1 to 100", { json: true }).optional(),
  type: z.string().default("TOKEN").openapi({ enum: ["TOKEN"], description: "Only TOKEN." }),
  clientid: z.array(z.string()).optional().openapi({ description: "Client ids to issue for (repeat the parameter); more are generated up to `number`." }),
  clientId: z.array(z.string()).optional().openapi({ description: "The same as clientid." }),
  topicAcl: z.string().optional().openapi({ default: "#", description: "Topic rights: `#`, or `pub:`/`sub:` filters; a literal `+` that fills a level is the wildcard." }),
  expiration: rule(z.int().min(-1).openapi({ description: "Lifetime in seconds (the broker's, if shorter, wins); -1 for none, which only a broker without an expiration grants." }), "a whole number of seconds, or -1 for no expiry", { json: true }).optional(),
});

/** Client id → JWT. */
export const IssuedCredentialsSchema = z.record(z.string(), z.string()).openapi({ description: "Client id → JWT (EdDSA), to use as the MQTT password." });

/** `?jti=A&jti=B` or `?jti=A,B`. */
export const JtiQuery = z.object({
  jti: rule(z.array(z.string()).openapi({ description: "Credential ids: repeated (`?jti=A&jti=B`, as wrangler sends them) or comma-joined (`?jti=A,B`)." }), "give the credentials by jti: ?jti=A&jti=B or ?jti=A,B"),
});

/** The revocations list's query. */
export const RevocationsQuery = z.object(PAGE_QUERY);

/** A public key as a JWK. */
export const JwkSchema = z.strictObject({
  use: z.literal("sig"), kty: z.literal("OKP"), crv: z.literal("Ed25519"), alg: z.literal("EdDSA"),
  kid: str("The RFC 7638 thumbprint, as in the JWT header."), x: str("The public key, base64url."),
}).openapi("Jwk");

/** `{keys: [JWK]}`. */
export const PublicKeysSchema = z.strictObject({ keys: z.array(JwkSchema) }).openapi("PublicKeys");

const tokenFields = {
  id: str("32 hex characters."), name: str(""), role: z.enum(ROLES),
  namespaces: z.union([z.literal("*"), z.array(z.string())]).openapi({ description: "`*` for every namespace, or a list." }),
  source: z.enum(["api", "configuration", "generated"]), created_on: time(""),
};

/** An API token, never its secret. */
export const ApiTokenSchema = z.strictObject(tokenFields).openapi("ApiToken");

/** A created API token, with its secret shown this once. */
export const ApiTokenCreatedSchema = z.strictObject({ ...tokenFields, value: str("The secret: shown this once.") }).openapi("ApiTokenCreated");

/** `POST /tokens`. */
export const ApiTokenCreateSchema = z.strictObject({
  name: rule(z.string().min(1).max(MAX_TOKEN_NAME_LENGTH).openapi({ description: `1 to ${MAX_TOKEN_NAME_LENGTH} characters.` }), `a name of 1 to ${MAX_TOKEN_NAME_LENGTH} characters`),
  role: rule(z.enum(ROLES), `one of ${ROLES.join(", ")}`, { json: true }),
  namespaces: rule(z.union([z.literal("*"), z.array(checkedBy(z.string(), (v) => normalizeName("namespace", v))).min(1)]), `"*" (every namespace) or a non-empty list of namespace names`)
    .optional().openapi({ default: "*", description: "`*` for every namespace, or a list of namespace names (which need not exist yet)." }),
}).openapi("ApiTokenCreate");
