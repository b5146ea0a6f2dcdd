import { apiPath } from "../api-client.ts";
import type { ParsedArgs } from "../parsed-args.ts";
import type { ArgSpec, FlagSpec } from "../spec.ts";

/** The `<name>` of a broker command. */
export const BROKER_NAME: ArgSpec = { name: "<name>", description: "the broker's name" };

/** `--namespace`, which every broker command needs (wrangler's alias `--ns` works too). */
export const NAMESPACE_FLAG: FlagSpec = { name: "namespace", aliases: ["ns"], value: "<ns>", required: true, description: "the broker's namespace" };

/** The API path of the broker a command names, plus any further parts. */
export function brokerPath(input: ParsedArgs, ...rest: string[]): string {
  return apiPath("namespaces", input.string("namespace")!, "brokers", input.arg("<name>"), ...rest);
}

/** `broker "b" in namespace "ns"`, for messages. */
export function brokerLabel(input: ParsedArgs): string {
  return `broker "${input.arg("<name>")}" in namespace "${input.string("namespace")}"`;
}
