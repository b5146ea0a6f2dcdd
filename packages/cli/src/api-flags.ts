import type { ParsedArgs } from "./parsed-args.ts";
import { UsageError } from "./errors.ts";
import type { FlagSpec } from "./spec.ts";

/** The account id used when none is given; the server serves any account unless it was started with --account-id. */
export const DEFAULT_ACCOUNT_ID = "default";

/** Flags every admin API command takes, before or after the command's name. */
export const API_FLAGS: readonly FlagSpec[] = [
  { name: "url", value: "<url>", global: true, description: "the admin API, e.g. http://127.0.0.1:8080 (env EDGEMQ_API_URL; the server's --admin-port)" },
  { name: "account-id", value: "<id>", global: true, description: `the account in /client/v4/accounts/<id>/pubsub (env EDGEMQ_ACCOUNT_ID; default "${DEFAULT_ACCOUNT_ID}")` },
  { name: "token", value: "<token>", global: true, description: "an API token (env EDGEMQ_API_TOKEN, else EDGEMQ_ADMIN_TOKEN)" },
  { name: "json", global: true, description: "print the API's result as JSON instead of a table" },
  { name: "help", short: "h", global: true, description: "show help for the command" },
];

/** Where and as whom to call the admin API. */
export interface ApiSettings {
  /** The base every path is appended to: `http://host:port/client/v4/accounts/<id>/pubsub`. */
  base: string;
  /** The scheme, host and port, for messages. */
  origin: string;
  /** The port, for the hint to start the server with --admin-port. */
  port: string;
  token: string;
}

/** The admin API's address and token from the flags, else the environment; usage errors say how to give them. */
export function apiSettings(input: ParsedArgs, env: Record<string, string | undefined>): ApiSettings {
  const command = input.command;
  const raw = input.string("url") ?? env.EDGEMQ_API_URL;
  if (raw === undefined || raw.trim() === "") {
    throw new UsageError("no admin API URL: pass --url http://127.0.0.1:<admin port> or set EDGEMQ_API_URL (the server serves the API when started with --admin-port <port>)", command);
  }
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new UsageError(`--url "${raw}" is not a URL; give the admin API's address, such as http://127.0.0.1:8080`, command);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--url "${raw}" is not an http:// or https:// URL; the admin API is HTTP (mqtt:// addresses are for "edgemq pub" and "edgemq sub")`, command);
  }
  const accountId = input.string("account-id") ?? env.EDGEMQ_ACCOUNT_ID ?? DEFAULT_ACCOUNT_ID;
  if (accountId.trim() === "") throw new UsageError("--account-id is empty; give an account id, or leave it out for the default", command);
  const token = input.string("token") ?? env.EDGEMQ_API_TOKEN ?? env.EDGEMQ_ADMIN_TOKEN;
  if (token === undefined || token.trim() === "") {
    throw new UsageError("no API token: pass --token <token> or set EDGEMQ_API_TOKEN (a server started with --admin-port generates an Admin token the first time it starts: it shows it on the terminal, or writes it to a 0600 file and logs the file's path)", command);
  }
  const path = url.pathname.replace(/\/+$/, "");
  // A full Cloudflare-style base (…/client/v4/accounts/<id>/pubsub) is used as is; otherwise the path is appended.
  const base = /\/client\/v4\/accounts\/[^/]+\/pubsub$/.test(path)
    ? `${url.origin}${path}`
    : `${url.origin}${path}/client/v4/accounts/${encodeURIComponent(accountId.trim())}/pubsub`;
  const port = url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80";
  return { base, origin: url.origin, port, token: token.trim() };
}
