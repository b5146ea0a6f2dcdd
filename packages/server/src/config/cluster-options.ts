import { z } from "zod";
import type { ServerOption } from "./server-option.ts";
import { list, show, text, wholeNumber } from "./value-types.ts";

/** One NATS server URL: nats:// or tls://, a host and perhaps a port (a user and password may come before the host). */
const NATS_URL = z.string().regex(/^(nats|tls):\/\/[^\s/?#]+(:\d{1,5})?\/?$/, {
  error: (i) => `needs NATS server URLs such as nats://127.0.0.1:4222, got ${show(i.input)}`,
});

/**
 * `--cluster` and `--node-id`, with EDGEMQ_CLUSTER, EDGEMQ_NODE_ID and the config file's `cluster.servers` and `cluster.nodeId`;
 * the NATS credentials and TLS files (`--cluster-creds`, `--cluster-nkey`, `--cluster-tls-*`; `cluster.creds`, `cluster.tls.ca`…).
 */
export const CLUSTER_OPTIONS: readonly ServerOption[] = [
  {
    name: "cluster", type: list("<nats://host:port,...>", NATS_URL), env: "EDGEMQ_CLUSTER", file: { path: "cluster.servers" }, target: "cluster", section: "Other",
    help: ["join the edgemq nodes on these NATS servers (messages, shared subscriptions,", "retained messages, sessions and tenants cross nodes)"],
  },
  {
    name: "cluster-replicas", type: wholeNumber(1, 5), env: "EDGEMQ_CLUSTER_REPLICAS", file: { path: "cluster.replicas" }, target: "cluster", section: "Other",
    help: ["how many NATS servers keep each QoS 1 and 2 message, session and retained message", "before it is acknowledged (default: the NATS cluster's size, at most 3)"],
  },
  {
    name: "node-id", type: text("<name>", z.string().regex(/^[\x21-\x7e]{1,128}$/, { error: (i) => `must be 1 to 128 printable characters without spaces, got ${show(i.input)}` })),
    env: "EDGEMQ_NODE_ID", file: { path: "cluster.nodeId" }, target: "cluster", section: "Other",
    help: "this node's name in the cluster (default: host name:MQTT port)",
  },
  {
    name: "cluster-creds", type: text("<file>"), env: "EDGEMQ_CLUSTER_CREDS", file: { path: "cluster.creds" }, target: "cluster", section: "Other",
    help: "a NATS credentials file (user JWT and nkey seed) for NATS servers run with an operator",
  },
  {
    name: "cluster-nkey", type: text("<file>"), env: "EDGEMQ_CLUSTER_NKEY", file: { path: "cluster.nkey" }, target: "cluster", section: "Other",
    help: "a file holding a NATS user nkey seed (SU...), for NATS servers whose users are nkeys",
  },
  {
    name: "cluster-tls-ca", type: text("<file>"), env: "EDGEMQ_CLUSTER_TLS_CA", file: { path: "cluster.tls.ca" }, target: "cluster", section: "Other",
    help: "PEM CA bundle that signed the NATS servers' certificates (TLS to NATS)",
  },
  {
    name: "cluster-tls-cert", type: text("<file>"), env: "EDGEMQ_CLUSTER_TLS_CERT", file: { path: "cluster.tls.cert" }, target: "cluster", section: "Other",
    help: "PEM client certificate for NATS servers that verify clients (with --cluster-tls-key)",
  },
  {
    name: "cluster-tls-key", type: text("<file>"), env: "EDGEMQ_CLUSTER_TLS_KEY", file: { path: "cluster.tls.key" }, target: "cluster", section: "Other",
    help: "PEM key of --cluster-tls-cert",
  },
];
