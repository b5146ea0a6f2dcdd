import { apiFor, apiPath } from "../api-client.ts";
import { API_FLAGS } from "../api-flags.ts";
import { confirm, YES_FLAG } from "../confirm.ts";
import { emit } from "../output.ts";
import type { CommandSpec, GroupSpec } from "../spec.ts";
import { formatDetails, formatTable } from "../table.ts";

/** A namespace as the API returns it. */
export interface Namespace {
  id: string;
  name: string;
  description: string;
  created_on: string;
  modified_on: string;
}

const NAME = { name: "<name>", description: "the namespace's name: a DNS label (a-z, 0-9, -)" };

/** A namespace as `label: value` lines. */
export function namespaceDetails(n: Namespace): string {
  return formatDetails([["name", n.name], ["id", n.id], ["description", n.description], ["created", n.created_on], ["modified", n.modified_on]]);
}

const create: CommandSpec = {
  path: ["namespace", "create"],
  summary: "create a namespace (a group of brokers)",
  details: "Calls POST /namespaces. Needs an Admin API token. Namespace names are unique on the server.",
  args: [NAME],
  flags: [{ name: "description", value: "<text>", description: "what the namespace is for" }, ...API_FLAGS],
  examples: ["edgemq namespace create acme --description \"ACME devices\""],
  async run(input, io) {
    const ns = await apiFor(input, io.env).result<Namespace>("POST", "/namespaces", {
      body: { name: input.arg("<name>"), ...(input.has("description") ? { description: input.string("description") } : {}) },
    });
    emit(io, input, ns, () => `Created namespace "${ns.name}".\n${namespaceDetails(ns)}`);
  },
};

const list: CommandSpec = {
  path: ["namespace", "list"],
  summary: "list the namespaces the API token may see",
  details: "Calls GET /namespaces.",
  flags: API_FLAGS,
  examples: ["edgemq namespace list", "edgemq namespace list --json"],
  async run(input, io) {
    const all = await apiFor(input, io.env).all<Namespace>("/namespaces");
    emit(io, input, all, () => all.length === 0
      ? "No namespaces yet: create one with edgemq namespace create <name>."
      : formatTable(all, [
        { header: "name", value: (n) => n.name },
        { header: "description", value: (n) => n.description },
        { header: "id", value: (n) => n.id },
        { header: "created", value: (n) => n.created_on },
      ]));
  },
};

const describe: CommandSpec = {
  path: ["namespace", "describe"],
  summary: "show one namespace",
  details: "Calls GET /namespaces/<name>.",
  args: [NAME],
  flags: API_FLAGS,
  examples: ["edgemq namespace describe acme"],
  async run(input, io) {
    const ns = await apiFor(input, io.env).result<Namespace>("GET", apiPath("namespaces", input.arg("<name>")));
    emit(io, input, ns, () => namespaceDetails(ns));
  },
};

const remove: CommandSpec = {
  path: ["namespace", "delete"],
  summary: "delete an empty namespace",
  details: "Calls DELETE /namespaces/<name>. Delete its brokers first. The name becomes free for anyone to register.",
  args: [NAME],
  flags: [YES_FLAG, ...API_FLAGS],
  examples: ["edgemq namespace delete acme --yes"],
  async run(input, io) {
    const name = input.arg("<name>");
    await confirm(io, input, `Delete namespace "${name}"? Its name will be available for others to register.`);
    const result = await apiFor(input, io.env).result<null>("DELETE", apiPath("namespaces", name));
    emit(io, input, result, () => `Deleted namespace "${name}".`);
  },
};

/** `edgemq namespace …`: wrangler pubsub namespace's commands. */
export const NAMESPACE_GROUP: GroupSpec = {
  name: "namespace",
  aliases: ["namespaces"],
  summary: "namespaces: groups of brokers",
  commands: [create, list, describe, remove],
};
