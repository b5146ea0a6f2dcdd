import { apiFor } from "../api-client.ts";
import { API_FLAGS } from "../api-flags.ts";
import { confirm, YES_FLAG } from "../confirm.ts";
import { emit } from "../output.ts";
import { readSecret } from "../secret-input.ts";
import type { CommandSpec } from "../spec.ts";
import { formatTable } from "../table.ts";
import { BROKER_NAME, brokerLabel, brokerPath, NAMESPACE_FLAG } from "./broker-flags.ts";

interface ScramUser {
  username: string;
  iterations: number;
  mechanisms: string[];
  created_on: string;
}

type Action = (input: Parameters<CommandSpec["run"]>[0], io: Parameters<CommandSpec["run"]>[1]) => Promise<void>;

// add: the password is asked for at a terminal (not echoed), or read from standard input's first line.
const add: Action = async (input, io) => {
  const username = requiredUsername(input);
  const iterations = input.int("iterations", 4096, 1_000_000);
  const password = await readSecret(io, `Password for SCRAM user "${username}": `);
  const user = await apiFor(input, io.env).result<ScramUser>("POST", brokerPath(input, "scram-users"), {
    body: { username, password, ...(iterations === undefined ? {} : { iterations }) },
  });
  emit(io, input, user, () => `SCRAM user "${user.username}" can log in to ${brokerLabel(input)} with ${user.mechanisms.join(" or ")} (${user.iterations} iterations).`);
};

const list: Action = async (input, io) => {
  const users = await apiFor(input, io.env).all<ScramUser>(brokerPath(input, "scram-users"));
  emit(io, input, users, () => users.length === 0 ? `No SCRAM users on ${brokerLabel(input)}.` : formatTable(users, [
    { header: "username", value: (u) => u.username },
    { header: "mechanisms", value: (u) => u.mechanisms.join(",") },
    { header: "iterations", value: (u) => String(u.iterations) },
    { header: "created", value: (u) => u.created_on },
  ]));
};

const remove: Action = async (input, io) => {
  const username = requiredUsername(input);
  await confirm(io, input, `Remove SCRAM user "${username}" from ${brokerLabel(input)}?`);
  const result = await apiFor(input, io.env).result<null>("DELETE", brokerPath(input, "scram-users", username));
  emit(io, input, result, () => `Removed SCRAM user "${username}" from ${brokerLabel(input)}.`);
};

const ACTIONS: Record<string, Action> = { add, list, remove };

function requiredUsername(input: Parameters<CommandSpec["run"]>[0]): string {
  const username = input.string("username");
  if (username === undefined || username === "") throw input.usage(`"scram-user ${input.arg("<add|list|remove>")}" needs --username <name>`);
  return username;
}

/** `broker scram-user add|list|remove <broker>`: a broker's SCRAM users (MQTT 5 enhanced authentication). */
export const SCRAM_USER_COMMAND: CommandSpec = {
  path: ["broker", "scram-user"],
  summary: "add (or set the password of), list or remove a broker's SCRAM users",
  details: "Calls POST, GET and DELETE /namespaces/<ns>/brokers/<name>/scram-users. add asks for the password at a terminal (not echoed) or reads the first line of standard input; never a flag. Only salt, iterations, StoredKey and ServerKey are kept; list never shows a key.",
  args: [{ name: "<add|list|remove>", description: "what to do", choices: ["add", "list", "remove"] }, BROKER_NAME],
  flags: [
    NAMESPACE_FLAG,
    { name: "username", short: "u", value: "<name>", description: "the SCRAM user name (add, remove)" },
    { name: "iterations", value: "<n>", description: "PBKDF2 iterations, 4096 (default) to 1000000 (add)" },
    YES_FLAG,
    ...API_FLAGS,
  ],
  examples: [
    "edgemq broker scram-user add sensors --namespace acme --username meter-7",
    "printf '%s\\n' \"$PASSWORD\" | edgemq broker scram-user add sensors --namespace acme --username meter-7",
    "edgemq broker scram-user list sensors --namespace acme",
    "edgemq broker scram-user remove sensors --namespace acme --username meter-7 --yes",
  ],
  async run(input, io) {
    const action = ACTIONS[input.arg("<add|list|remove>").toLowerCase()];
    if (action === undefined) throw input.usage(`"edgemq broker scram-user" takes add, list or remove, not "${input.arg("<add|list|remove>")}"`);
    await action(input, io);
  },
};
