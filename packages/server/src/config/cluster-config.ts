import { ConfigError } from "./config-error.ts";
import type { ClusterConfig } from "./config-types.ts";
import type { OptionValues } from "./option-values.ts";

/** The cluster settings, or undefined without --cluster. */
export function buildCluster(values: OptionValues): ClusterConfig | undefined {
  const servers = values.given<string[]>("cluster");
  const nodeId = values.given<string>("node-id");
  if (servers === undefined || servers.length === 0) {
    if (nodeId !== undefined) throw new ConfigError("--node-id names this node in a cluster: add --cluster nats://host:port (or EDGEMQ_CLUSTER)");
    return undefined;
  }
  return { servers, nodeId };
}
