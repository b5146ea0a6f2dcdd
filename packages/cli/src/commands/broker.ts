import { apiFor, apiPath } from "../api-client.ts";
import { API_FLAGS } from "../api-flags.ts";
import type { ParsedArgs } from "../parsed-args.ts";
import { confirm, YES_FLAG } from "../confirm.ts";
import { formatDuration, parseDuration } from "../duration.ts";
import { emit } from "../output.ts";
import type { CommandSpec, GroupSpec } from "../spec.ts";
import { formatDetails, formatTable } from "../table.ts";
import { BROKER_NAME, brokerLabel, brokerPath, NAMESPACE_FLAG } from "./broker-flags.ts";
import { BROKER_LIVE_COMMANDS } from "./broker-live.ts";
import { LIMIT_FLAGS, limitFields, limitsTable } from "./broker-limits.ts";
import { CREDENTIAL_COMMANDS } from "./credentials.ts";
import { SCRAM_USER_COMMAND } from "./scram-users.ts";

/** A broker as the API returns it. */
export interface Broker {
  id: string;
  name: string;
  authType: string;
  description: string;
  created_on: string;
  modified_on: string;
  expiration: number | null;
  endpoint: string;
  on_publish?: { url: string; fail_open?: boolean };
  preset?: string;
  limits?: Record<string, number>;
}

/** The auth types a broker may have, in Cloudflare's spelling. */
export const AUTH_TYPES = ["TOKEN", "MTLS", "MTLS_AND_TOKEN"] as const;

/** A broker as `label: value` lines. */
export function brokerDetails(b: Broker): string {
  return formatDetails([
    ["name", b.name], ["id", b.id], ["auth type", b.authType], ["endpoint", b.endpoint], ["description", b.description],
    ["expiration", b.expiration === null ? "none" : `${formatDuration(b.expiration)} (${b.expiration} s)`],
    ["on publish", b.on_publish?.url], ["on publish fails", b.on_publish ? (b.on_publish.fail_open ? "open (delivered)" : "closed (dropped)") : undefined],
    ["preset", b.preset], ["created", b.created_on], ["modified", b.modified_on],
  ]) + (b.limits ? `\n\n${limitsTable(b.limits)}` : "");
}

// --expiration as seconds; "none" means no expiry (null), which only update sends (create leaves it out).
function expirationFlag(input: ParsedArgs): number | null | undefined {
  const v = input.string("expiration");
  if (v === undefined) return undefined;
  if (/^(none|never|off)$/i.test(v.trim())) return null;
  const seconds = parseDuration(v);
  if (seconds === undefined || seconds === 0) {
    throw input.usage(`--expiration must be a lifetime such as 3600, 90m, 48h or 30d (or "none"), not "${v}"`);
  }
  return seconds;
}

const DETAIL_FLAGS = [
  { name: "description", value: "<text>", description: "what the broker is for" },
  { name: "expiration", aliases: ["exp"], value: "<duration>", description: "lifetime of credentials issued from now on: seconds, or 90m, 48h, 30d, 1y; \"none\" for no expiry" },
  { name: "on-publish-url", value: "<url>", description: "where each PUBLISH is sent before delivery (on-publish hook); \"none\" to remove it" },
  { name: "on-publish-fail-open", description: "when the hook fails (non-200, invalid reply, no reply in time), deliver the messages unchanged instead of dropping them" },
  { name: "on-publish-fail-closed", description: "when the hook fails, drop the messages (the default)" },
] as const;

// The fail_open the flags ask for, if any.
function failOpenFlag(input: { has(name: string): boolean; usage(message: string): Error }): boolean | undefined {
  const open = input.has("on-publish-fail-open"), closed = input.has("on-publish-fail-closed");
  if (open && closed) throw input.usage("give --on-publish-fail-open or --on-publish-fail-closed, not both");
  return open ? true : closed ? false : undefined;
}

const create: CommandSpec = {
  path: ["broker", "create"],
  summary: "create a broker in a namespace",
  details: "Calls POST /namespaces/<ns>/brokers. Prints the broker, with the endpoint its clients connect to.",
  args: [BROKER_NAME],
  flags: [
    NAMESPACE_FLAG,
    { name: "auth-type", value: "<type>", choices: AUTH_TYPES, description: "how clients authenticate: TOKEN (the default), MTLS or MTLS_AND_TOKEN" },
    ...DETAIL_FLAGS, ...LIMIT_FLAGS, ...API_FLAGS,
  ],
  examples: ["edgemq broker create sensors --namespace acme --expiration 30d", "edgemq broker create cf --namespace acme --preset cloudflare --limit max_connections=500"],
  async run(input, io) {
    const expiration = expirationFlag(input);
    const url = input.string("on-publish-url");
    const failOpen = failOpenFlag(input);
    const body: { on_publish?: unknown; [k: string]: unknown } = {
      name: input.arg("<name>"),
      authType: input.string("auth-type") ?? "TOKEN",
      ...(input.has("description") ? { description: input.string("description") } : {}),
      ...(typeof expiration === "number" ? { expiration } : {}),
      ...(url !== undefined && !/^none$/i.test(url) && url !== "" ? { on_publish: { url, ...(failOpen !== undefined ? { fail_open: failOpen } : {}) } } : {}),
      ...limitFields(input, false),
    };
    if (failOpen !== undefined && body.on_publish === undefined) throw input.usage("--on-publish-fail-open and --on-publish-fail-closed need --on-publish-url");
    const broker = await apiFor(input, io.env).result<Broker>("POST", apiPath("namespaces", input.string("namespace")!, "brokers"), { body });
    emit(io, input, broker, () => `Created broker "${broker.name}" in namespace "${input.string("namespace")}".\n${brokerDetails(broker)}`);
  },
};

const update: CommandSpec = {
  path: ["broker", "update"],
  summary: "change a broker's description, credential expiration, on-publish URL, preset or limits",
  details: "Calls PATCH /namespaces/<ns>/brokers/<name> with only the fields given. A broker's name and auth type cannot change.",
  args: [BROKER_NAME],
  flags: [NAMESPACE_FLAG, ...DETAIL_FLAGS, ...LIMIT_FLAGS, ...API_FLAGS],
  examples: ["edgemq broker update sensors --namespace acme --expiration none --on-publish-url https://hooks.example/mqtt", "edgemq broker update sensors --namespace acme --limit max_packets_per_second=20 --limit max_message_size=default"],
  async run(input, io) {
    const body: Record<string, unknown> = {};
    if (input.has("description")) body.description = input.string("description");
    if (input.has("expiration")) body.expiration = expirationFlag(input);
    const url = input.string("on-publish-url");
    const failOpen = failOpenFlag(input);
    if (url !== undefined) body.on_publish = { url: url === "" || /^none$/i.test(url) ? null : url };
    if (failOpen !== undefined) body.on_publish = { ...(body.on_publish as object | undefined), fail_open: failOpen };
    Object.assign(body, limitFields(input, true));
    if (Object.keys(body).length === 0) throw input.usage("nothing to update: give --description, --expiration, --on-publish-url, --on-publish-fail-open, --preset or --limit");
    const broker = await apiFor(input, io.env).result<Broker>("PATCH", brokerPath(input), { body });
    emit(io, input, broker, () => `Updated ${brokerLabel(input)}.\n${brokerDetails(broker)}`);
  },
};

const list: CommandSpec = {
  path: ["broker", "list"],
  summary: "list the brokers of a namespace",
  details: "Calls GET /namespaces/<ns>/brokers.",
  flags: [NAMESPACE_FLAG, ...API_FLAGS],
  examples: ["edgemq broker list --namespace acme"],
  async run(input, io) {
    const ns = input.string("namespace")!;
    const all = await apiFor(input, io.env).all<Broker>(apiPath("namespaces", ns, "brokers"));
    emit(io, input, all, () => all.length === 0
      ? `No brokers in namespace "${ns}" yet: create one with edgemq broker create <name> --namespace ${ns}.`
      : formatTable(all, [
        { header: "name", value: (b) => b.name },
        { header: "auth type", value: (b) => b.authType },
        { header: "expiration", value: (b) => formatDuration(b.expiration) },
        { header: "endpoint", value: (b) => b.endpoint },
        { header: "on publish", value: (b) => b.on_publish?.url },
        { header: "description", value: (b) => b.description },
      ]));
  },
};

const describe: CommandSpec = {
  path: ["broker", "describe"],
  summary: "show one broker",
  details: "Calls GET /namespaces/<ns>/brokers/<name>.",
  args: [BROKER_NAME],
  flags: [NAMESPACE_FLAG, ...API_FLAGS],
  examples: ["edgemq broker describe sensors --namespace acme"],
  async run(input, io) {
    const broker = await apiFor(input, io.env).result<Broker>("GET", brokerPath(input));
    emit(io, input, broker, () => brokerDetails(broker));
  },
};

const remove: CommandSpec = {
  path: ["broker", "delete"],
  summary: "delete a broker; its clients are disconnected",
  details: "Calls DELETE /namespaces/<ns>/brokers/<name>. Every connected client is disconnected and its credentials stop working.",
  args: [BROKER_NAME],
  flags: [NAMESPACE_FLAG, YES_FLAG, ...API_FLAGS],
  examples: ["edgemq broker delete sensors --namespace acme --yes"],
  async run(input, io) {
    await confirm(io, input, `Delete ${brokerLabel(input)}? All existing clients will be disconnected.`);
    const result = await apiFor(input, io.env).result<null>("DELETE", brokerPath(input));
    emit(io, input, result, () => `Deleted ${brokerLabel(input)}.`);
  },
};

/** `edgemq broker …`: wrangler pubsub broker's commands, and edgemq's own (keys, clients). */
export const BROKER_GROUP: GroupSpec = {
  name: "broker",
  aliases: ["brokers"],
  summary: "brokers, their credentials, revocations, keys and connected clients",
  commands: [create, update, list, describe, remove, ...CREDENTIAL_COMMANDS, SCRAM_USER_COMMAND, ...BROKER_LIVE_COMMANDS],
};
