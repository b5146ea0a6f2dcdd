import { apiFor, apiPath } from "../api-client.ts";
import { API_FLAGS } from "../api-flags.ts";
import { confirm, YES_FLAG } from "../confirm.ts";
import { emit } from "../output.ts";
import type { CommandSpec, GroupSpec } from "../spec.ts";
import { formatDetails, formatTable } from "../table.ts";

/** An API token as the API lists it (never its secret). */
export interface ApiToken {
  id: string;
  name: string;
  role: string;
  namespaces: "*" | string[];
  source: string;
  created_on: string;
}

const scope = (t: ApiToken) => (t.namespaces === "*" ? "all" : t.namespaces);

const tokenDetails = (t: ApiToken) => formatDetails([
  ["name", t.name], ["id", t.id], ["role", t.role], ["namespaces", scope(t)], ["source", t.source], ["created", t.created_on],
]);

const create: CommandSpec = {
  path: ["token", "create"],
  summary: "create an API token; its secret is printed once",
  details: "Calls POST /tokens (edgemq's). Needs an Admin token for every namespace. Admin manages everything, User manages brokers and credentials, Viewer only reads.",
  flags: [
    { name: "name", value: "<name>", required: true, description: "what the token is for, e.g. ci" },
    { name: "role", value: "<role>", required: true, choices: ["Admin", "User", "Viewer"], description: "Admin, User or Viewer" },
    { name: "namespace", aliases: ["ns"], value: "<ns>", repeatable: true, description: "limit it to this namespace (repeatable; default: every namespace)" },
    ...API_FLAGS,
  ],
  examples: ["edgemq token create --name ci --role User --namespace acme"],
  async run(input, io) {
    const namespaces = input.strings("namespace", { splitCommas: true });
    const token = await apiFor(input, io.env).result<ApiToken & { value: string }>("POST", "/tokens", {
      body: { name: input.string("name"), role: input.string("role"), ...(namespaces.length > 0 ? { namespaces } : {}) },
    });
    emit(io, input, token, () => `Created API token "${token.name}". Its secret is shown this once; keep it:\n${token.value}\n\n${tokenDetails(token)}`);
  },
};

const list: CommandSpec = {
  path: ["token", "list"],
  summary: "list API tokens (never their secrets)",
  details: "Calls GET /tokens (edgemq's). Needs an Admin token for every namespace.",
  flags: API_FLAGS,
  examples: ["edgemq token list"],
  async run(input, io) {
    const all = await apiFor(input, io.env).all<ApiToken>("/tokens");
    emit(io, input, all, () => formatTable(all, [
      { header: "id", value: (t) => t.id },
      { header: "name", value: (t) => t.name },
      { header: "role", value: (t) => t.role },
      { header: "namespaces", value: scope },
      { header: "source", value: (t) => t.source },
      { header: "created", value: (t) => t.created_on },
    ]));
  },
};

const TOKEN_ID = { name: "<id>", description: "the token's id (edgemq token list shows it)" };

const describe: CommandSpec = {
  path: ["token", "describe"],
  summary: "show one API token",
  details: "Calls GET /tokens/<id> (edgemq's).",
  args: [TOKEN_ID],
  flags: API_FLAGS,
  examples: ["edgemq token describe 5f0c6b8e2d7a4c1b9e3f0a2d4c6b8e0f"],
  async run(input, io) {
    const token = await apiFor(input, io.env).result<ApiToken>("GET", apiPath("tokens", input.arg("<id>")));
    emit(io, input, token, () => tokenDetails(token));
  },
};

const remove: CommandSpec = {
  path: ["token", "delete"],
  summary: "delete an API token; it stops working at once",
  details: "Calls DELETE /tokens/<id> (edgemq's). The last Admin token for every namespace cannot be deleted.",
  args: [TOKEN_ID],
  flags: [YES_FLAG, ...API_FLAGS],
  examples: ["edgemq token delete 5f0c6b8e2d7a4c1b9e3f0a2d4c6b8e0f"],
  async run(input, io) {
    const id = input.arg("<id>");
    await confirm(io, input, `Delete API token ${id}? Whoever uses it loses access.`);
    const result = await apiFor(input, io.env).result<null>("DELETE", apiPath("tokens", id));
    emit(io, input, result, () => `Deleted API token ${id}.`);
  },
};

/** `edgemq token …`: the admin API's own tokens (edgemq's; Cloudflare used account API tokens). */
export const TOKEN_GROUP: GroupSpec = {
  name: "token",
  aliases: ["tokens"],
  summary: "the admin API's own tokens, with roles and namespace scopes",
  commands: [create, list, describe, remove],
};
