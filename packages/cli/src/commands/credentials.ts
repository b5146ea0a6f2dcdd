import { type ApiClient, apiFor } from "../api-client.ts";
import { API_FLAGS } from "../api-flags.ts";
import type { ParsedArgs } from "../parsed-args.ts";
import { parseDuration } from "../duration.ts";
import { API_GENERATED_ID_LENGTH, fittingClientIds, idBytes } from "../client-ids.ts";
import { readClaims } from "../jwt.ts";
import { emit } from "../output.ts";
import type { CommandSpec } from "../spec.ts";
import { formatTable } from "../table.ts";
import { BROKER_NAME, brokerLabel, brokerPath, NAMESPACE_FLAG } from "./broker-flags.ts";

/** A public key as `/publickeys` lists it (a JWK). */
export interface PublicKey {
  kid: string;
  kty: string;
  crv: string;
  alg: string;
  use: string;
  x: string;
}

const keyTable = (keys: readonly PublicKey[]) => formatTable(keys, [
  { header: "kid", value: (k) => k.kid },
  { header: "alg", value: (k) => k.alg },
  { header: "crv", value: (k) => k.crv },
  { header: "use", value: (k) => k.use },
  { header: "x", value: (k) => k.x },
]);

// The issue call's expiration: seconds, or -1 to leave `exp` out even when the broker sets one.
function issueExpiration(input: ParsedArgs): number | undefined {
  const v = input.string("expiration");
  if (v === undefined) return undefined;
  if (/^(-1|none|never)$/i.test(v.trim())) return -1;
  const seconds = parseDuration(v);
  if (seconds === undefined || seconds === 0) {
    throw input.usage(`--expiration must be a lifetime such as 3600, 90m, 48h or 30d (or "never"), not "${v}"`);
  }
  return seconds;
}

// MQTT 3.1.1 promises 23 bytes of client id to every client; a shorter id needs no look at the broker's limit.
const PORTABLE_CLIENT_ID = 23;

// The client ids to issue for: those given, each checked against the broker's max_client_id_length, or,
// when the API's own ids (ULIDs) would be too long for that limit, ids generated to fit it.
async function clientIdsFor(input: ParsedArgs, api: ApiClient, given: string[], number: number | undefined): Promise<string[]> {
  const wanted = Math.max(number ?? 1, given.length);
  if (wanted === given.length && given.every((id) => idBytes(id) <= PORTABLE_CLIENT_ID)) return given;
  const broker = await api.result<{ limits?: { max_client_id_length?: number } }>("GET", brokerPath(input));
  const max = broker.limits?.max_client_id_length;
  if (max === undefined) return given;
  const long = given.find((id) => idBytes(id) > max);
  if (long !== undefined) {
    throw input.usage(`--client-id "${long}" is ${idBytes(long)} bytes, but ${brokerLabel(input)} allows client ids of at most ${max} (its max_client_id_length limit), so the broker would refuse it (0x85); give a shorter one, or raise the limit with edgemq broker update --limit max_client_id_length=<n>`);
  }
  if (wanted === given.length || max >= API_GENERATED_ID_LENGTH) return given;
  const ids = fittingClientIds(wanted - given.length, max)?.filter((id) => !given.includes(id));
  if (ids === undefined) throw input.usage(`${brokerLabel(input)} allows client ids of at most ${max} (its max_client_id_length limit), too short to generate ${wanted - given.length} distinct ones; give --client-id for each`);
  return [...given, ...ids];
}

const issue: CommandSpec = {
  path: ["broker", "issue"],
  summary: "issue credentials (JWTs used as the MQTT password) for clients",
  details: "Calls GET /namespaces/<ns>/brokers/<name>/credentials. Prints each client id with its credential and the jti to revoke it by. Without --client-id, client ids are generated, no longer than the broker's max_client_id_length; a --client-id longer than that is refused before anything is issued.",
  args: [BROKER_NAME],
  flags: [
    NAMESPACE_FLAG,
    { name: "number", short: "n", value: "<n>", description: "how many credentials (1 to 100; default 1, or one per --client-id)" },
    { name: "client-id", value: "<id>", repeatable: true, description: "a client id to issue for (repeatable)" },
    { name: "expiration", aliases: ["exp"], value: "<duration>", description: "lifetime: seconds, or 90m, 48h, 30d; \"never\" for none even if the broker sets one (the shorter of this and the broker's wins)" },
    { name: "topic-acl", value: "<acl>", description: "topics the client may use, e.g. \"pub:sensors/#,sub:commands/+\" (default #: all)" },
    { name: "type", value: "<type>", choices: ["TOKEN"], description: "credential type (only TOKEN)" },
    ...API_FLAGS,
  ],
  examples: [
    "edgemq broker issue sensors --namespace acme --client-id device-1 --expiration 30d",
    "edgemq broker issue sensors --namespace acme -n 3 --topic-acl \"pub:sensors/#\" --json",
  ],
  async run(input, io) {
    const number = input.int("number", 1, 100);
    const api = apiFor(input, io.env);
    const clientIds = await clientIdsFor(input, api, input.strings("client-id"), number);
    const issued = await api.result<Record<string, string>>("GET", brokerPath(input, "credentials"), {
      query: {
        type: input.string("type") ?? "TOKEN",
        number: number ?? (clientIds.length > 0 ? clientIds.length : undefined),
        clientid: clientIds,
        expiration: issueExpiration(input),
        topicAcl: input.string("topic-acl"),
      },
    });
    const rows = Object.entries(issued).map(([clientId, token]) => ({ clientId, token, claims: readClaims(token) }));
    emit(io, input, issued, () => formatTable(rows, [
      { header: "client id", value: (r) => r.clientId },
      { header: "jti", value: (r) => r.claims?.jti },
      { header: "expires", value: (r) => (r.claims?.exp === undefined ? "never" : new Date(r.claims.exp * 1000).toISOString()) },
      { header: "credential", value: (r) => r.token },
    ]));
  },
};

const JTI_FLAG = { name: "jti", value: "<jti>", repeatable: true, required: true, description: "a credential's jti (repeatable, or comma-separated)" } as const;

function revocationCommand(action: "revoke" | "unrevoke"): CommandSpec {
  const revoke = action === "revoke";
  return {
    path: ["broker", action],
    summary: revoke ? "revoke credentials by jti; clients using them are disconnected and refused" : "lift revocations, so the credentials work again (unless expired)",
    details: `Calls ${revoke ? "POST" : "DELETE"} /namespaces/<ns>/brokers/<name>/revocations?jti=….`,
    args: [BROKER_NAME],
    flags: [NAMESPACE_FLAG, JTI_FLAG, ...API_FLAGS],
    examples: [`edgemq broker ${action} sensors --namespace acme --jti 01JC3Q4T5VZ8K2M4N6P8R0S2T4`],
    async run(input, io) {
      const jtis = input.strings("jti", { splitCommas: true });
      if (jtis.length === 0) throw input.usage("--jti is empty; give a credential's jti (edgemq broker issue prints it)");
      const result = await apiFor(input, io.env).result<null>(revoke ? "POST" : "DELETE", brokerPath(input, "revocations"), { query: { jti: jtis } });
      const what = `${jtis.length} credential${jtis.length === 1 ? "" : "s"}`;
      emit(io, input, result, () => `${revoke ? "Revoked" : "Unrevoked"} ${what} on ${brokerLabel(input)}: ${jtis.join(", ")}.`);
    },
  };
}

const showRevocations: CommandSpec = {
  path: ["broker", "show-revocations"],
  summary: "list the revoked credentials' jti",
  details: "Calls GET /namespaces/<ns>/brokers/<name>/revocations.",
  args: [BROKER_NAME],
  flags: [NAMESPACE_FLAG, ...API_FLAGS],
  examples: ["edgemq broker show-revocations sensors --namespace acme"],
  async run(input, io) {
    const jtis = await apiFor(input, io.env).all<string>(brokerPath(input, "revocations"));
    emit(io, input, jtis, () => jtis.length === 0
      ? `No revoked credentials on ${brokerLabel(input)}.`
      : formatTable(jtis, [{ header: "jti", value: (j) => j }]));
  },
};

const publicKeys: CommandSpec = {
  path: ["broker", "public-keys"],
  summary: "show the public keys that verify credentials and on-publish requests",
  details: "Calls GET /namespaces/<ns>/brokers/<name>/publickeys. Newest first; --json prints the {\"keys\": [JWK…]} set.",
  args: [BROKER_NAME],
  flags: [NAMESPACE_FLAG, ...API_FLAGS],
  examples: ["edgemq broker public-keys sensors --namespace acme --json"],
  async run(input, io) {
    const set = await apiFor(input, io.env).result<{ keys: PublicKey[] }>("GET", brokerPath(input, "publickeys"));
    emit(io, input, set, () => keyTable(set.keys));
  },
};

const rotateKeys: CommandSpec = {
  path: ["broker", "rotate-keys"],
  summary: "sign with a new key; the previous one still verifies until the next rotation",
  details: "Calls POST /namespaces/<ns>/brokers/<name>/keys/rotate (edgemq's). Credentials signed with the key before the previous one stop working.",
  args: [BROKER_NAME],
  flags: [NAMESPACE_FLAG, ...API_FLAGS],
  examples: ["edgemq broker rotate-keys sensors --namespace acme"],
  async run(input, io) {
    const set = await apiFor(input, io.env).result<{ keys: PublicKey[] }>("POST", brokerPath(input, "keys", "rotate"));
    emit(io, input, set, () => `Rotated the signing key of ${brokerLabel(input)}; new credentials are signed with ${set.keys[0]?.kid}.\n${keyTable(set.keys)}`);
  },
};

/** `broker issue|revoke|unrevoke|show-revocations|public-keys|rotate-keys`. */
export const CREDENTIAL_COMMANDS: readonly CommandSpec[] = [
  issue, revocationCommand("revoke"), revocationCommand("unrevoke"), showRevocations, publicKeys, rotateKeys,
];
