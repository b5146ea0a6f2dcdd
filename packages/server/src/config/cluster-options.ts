import type { ServerOption } from "./server-option.ts";
import { ConfigError } from "./config-error.ts";
import { text } from "./value-types.ts";

// `nats://a:4222,nats://b:4222` (a file may give a list): each a NATS URL, written back as one comma list.
function serverList(value: string, label: string): string {
  const urls = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const url of urls) {
    if (!/^(nats|tls):\/\/[^\s/?#]+(:\d{1,5})?\/?$/.test(url)) {
      throw new ConfigError(`${label} needs NATS server URLs such as nats://127.0.0.1:4222, separated by commas; got "${url}"`);
    }
  }
  if (urls.length === 0) throw new ConfigError(`${label} needs at least one NATS server URL, such as nats://127.0.0.1:4222`);
  return urls.join(",");
}

function nodeName(value: string, label: string): string {
  if (!/^[\x21-\x7e]{1,128}$/.test(value)) throw new ConfigError(`${label} must be 1 to 128 printable characters without spaces, got "${value}"`);
  return value;
}

/** `--cluster` and `--node-id`, with EDGEMQ_CLUSTER, EDGEMQ_NODE_ID and the config file's `cluster.servers` and `cluster.nodeId`. */
export const CLUSTER_OPTIONS: readonly ServerOption[] = [
  {
    name: "cluster", type: text("<nats://host:port,...>", serverList), env: "EDGEMQ_CLUSTER", target: "cluster", section: "Other",
    file: {
      path: "cluster.servers",
      problem: (v) => (typeof v === "string" || (Array.isArray(v) && v.every((s) => typeof s === "string")) ? undefined : 'cluster.servers must be a NATS URL or a list of them, like ["nats://127.0.0.1:4222"]'),
      read: (v) => (Array.isArray(v) ? v.join(",") : v),
    },
    help: ["join the edgemq nodes on these NATS servers (preview: messages cross nodes;", "shared subscriptions, retained messages and sessions stay per node)"],
  },
  {
    name: "node-id", type: text("<name>", nodeName), env: "EDGEMQ_NODE_ID", target: "cluster", section: "Other",
    file: { path: "cluster.nodeId", problem: (v) => (typeof v === "string" ? undefined : "cluster.nodeId must be a string") },
    help: "this node's name in the cluster (default: host name:MQTT port)",
  },
];
