import { ConfigError } from "./config-error.ts";
import type { ClusterConfig } from "./config-types.ts";
import type { OptionValues } from "./option-values.ts";

// The flags of the cluster's files, for messages.
const FLAGS = { creds: "--cluster-creds", nkey: "--cluster-nkey", tlsCa: "--cluster-tls-ca", tlsCert: "--cluster-tls-cert", tlsKey: "--cluster-tls-key" } as const;

/** The cluster settings, or undefined without --cluster. */
export function buildCluster(values: OptionValues): ClusterConfig | undefined {
  const servers = values.given<string[]>("cluster");
  const nodeId = values.given<string>("node-id");
  const replicas = values.given<number>("cluster-replicas");
  const files = {
    creds: values.given<string>("cluster-creds"), nkey: values.given<string>("cluster-nkey"),
    tlsCa: values.given<string>("cluster-tls-ca"), tlsCert: values.given<string>("cluster-tls-cert"), tlsKey: values.given<string>("cluster-tls-key"),
  };
  if (servers === undefined || servers.length === 0) {
    if (nodeId !== undefined) throw new ConfigError("--node-id names this node in a cluster: add --cluster nats://host:port (or EDGEMQ_CLUSTER)");
    if (replicas !== undefined) throw new ConfigError("--cluster-replicas is for a cluster's JetStream: add --cluster nats://host:port (or EDGEMQ_CLUSTER)");
    const stray = Object.entries(FLAGS).find(([key]) => files[key as keyof typeof files] !== undefined);
    if (stray !== undefined) throw new ConfigError(`${stray[1]} is for joining a cluster: add --cluster nats://host:port (or EDGEMQ_CLUSTER)`);
    return undefined;
  }
  if (files.creds !== undefined && files.nkey !== undefined) throw new ConfigError("--cluster-creds and --cluster-nkey are two ways to sign in to NATS: give one of them");
  if ((files.tlsCert === undefined) !== (files.tlsKey === undefined)) {
    throw new ConfigError(files.tlsCert === undefined ? "--cluster-tls-key needs its certificate: add --cluster-tls-cert <file>" : "--cluster-tls-cert needs its key: add --cluster-tls-key <file>");
  }
  return { servers, nodeId, replicas, ...files };
}
