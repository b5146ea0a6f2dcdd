import type { ClusterView, NodeAnswer, NodeQuery } from "@edgemq/admin";
import { MemoryStore, type RoutingFactory, type SessionOwnership, type Store, type WillKeeper } from "@edgemq/core";
import type { ClusterLink } from "@edgemq/cluster-nats";
import type { TenancyStore } from "@edgemq/tenancy";
import { readClusterFiles } from "./cluster-files.ts";
import { clusterTenancy } from "./cluster-tenancy.ts";
import type { ClusterConfig } from "./config.ts";
import type { Logger } from "./logger.ts";

/** This node's place in a cluster, as the server uses it. */
export interface ClusterNode {
  /** The routing for one broker: `default`, or a tenant's `<broker>.<namespace>`. */
  routing(broker: string): RoutingFactory;
  /** Who owns each client id of one broker across the nodes (undefined without JetStream: each node its own, as on one node). */
  ownership(broker: string): SessionOwnership | undefined;
  /** One broker's store: `inner` (or memory), with its lasting sessions' QoS 2 state kept for the other nodes too (undefined without JetStream: `inner` alone). */
  store(broker: string, inner: Store | undefined): Store | undefined;
  /** Where one broker's wills are kept for the other nodes (undefined without JetStream: each node its own, as on one node). */
  wills(broker: string): WillKeeper | undefined;
  /** How the reaper reaches a broker this node has not built yet (a tenant's) to publish a gone node's will; false when it does not exist. */
  openBroker: (broker: string) => boolean;
  /** Names the node after its MQTT port once it is bound, unless --node-id named it. */
  settle(port: number): void;
  /** Counts the nodes that answer a roll call (a moment's wait), for {@link describe}. */
  countNodes(): Promise<void>;
  /** How many nodes are up now (this one included), kept current by their presence messages. */
  nodesSeen(): number | undefined;
  /** For the start-up line: `nats://… as node <id>, <n> nodes seen`. */
  describe(): string;
  /** Where the registry keeps tenancy: the cluster's KV bucket (or, without JetStream, the node's own store). */
  readonly tenancy: TenancyStore | undefined;
  /** The NATS link, with its counters of messages over NATS (every broker together). */
  readonly link: ClusterLink;
  /**
   * The cluster as the admin API sees it; this node answers the other nodes'
   * questions with `answer` (its own clients and sessions).
   */
  adminView(answer: (query: NodeQuery) => NodeAnswer): ClusterView;
  /** Resolves once every broker built so far has read the cluster's retained messages (bounded). */
  caughtUp(): Promise<void>;
  /** Why the node takes no traffic now (cut off from NATS), for /readyz; undefined while connected. */
  unready(): string | undefined;
  /** Leaves the cluster (after the brokers closed). */
  close(): Promise<void>;
}

/** Connects this node to the NATS servers of `config` (seeding the cluster's tenancy from `local` when it is empty); rejects with the package's ClusterConnectError when none answers. */
export async function joinCluster(config: ClusterConfig, port: number, logger: Logger, local?: TenancyStore): Promise<ClusterNode> {
  // Loaded only here: a server without --cluster never loads the NATS client.
  const { ClusterLink, ClusterWills, defaultNodeId, NodeQueries, redactServers, SessionOwners } = await import("@edgemq/cluster-nats");
  // Read before connecting: a missing or wrong file is a configuration error naming its flag.
  const files = readClusterFiles(config);
  const link = await ClusterLink.connect({
    ...files,
    servers: config.servers,
    nodeId: config.nodeId ?? defaultNodeId(port),
    replicas: config.replicas,
    log: (level, text) => logger.log(level, `edgemq: ${text}`),
  });
  const tenancy = await clusterTenancy(link, local, logger);
  // One owner per client id across nodes, in a KV bucket (issue 13); without JetStream, each node its own.
  const owners = await SessionOwners.open(link).catch((e: Error) => {
    logger.log("warn", `edgemq: cluster: cannot use JetStream KV for session ownership (${e.message}); one client id may be connected on two nodes at once. Start nats-server with -js.`);
    return undefined;
  });
  // The wills of this node's clients, published by a surviving node if this one dies (issue 13).
  const wills = await ClusterWills.open({
    get nc() {
      return link.nc;
    },
    root: link.root,
    get nodeId() {
      return link.nodeId;
    },
    incarnation: link.incarnation,
    get connected() {
      return link.connected;
    },
    report: (level, text) => link.report(level, text),
    isUp: (node) => link.presence.isUp(node),
  }, owners?.kv, link.replicas).catch((e: Error) => {
    logger.log("warn", `edgemq: cluster: cannot use JetStream KV for wills (${e.message}); the wills of a node that dies are lost with it. Start nats-server with -js.`);
    return undefined;
  });
  link.presence.onGone((node, lastHeard) => void wills?.reap(node, lastHeard));
  // The lasting sessions of a node that is gone wait on a survivor, subscribed, for their clients (issue 13).
  link.presence.onGone((node) => void owners?.adoptGone(node, (n) => link.presence.isUp(n)).then((n) => {
    if (n > 0) logger.log("info", `edgemq: cluster: took over ${n} session(s) of node ${node}, which is gone`);
  }));
  let seen: number | undefined;
  const queries = new NodeQueries(link.nc, link.root);
  return {
    link,
    tenancy,
    routing: (broker) => link.routing(broker),
    ownership: (broker) => owners?.forBroker(broker),
    store: (broker, inner) => owners?.storeFor(broker, inner ?? new MemoryStore()),
    wills: (broker) => wills?.forBroker(broker),
    set openBroker(open: (broker: string) => boolean) {
      if (wills !== undefined) wills.openBroker = open;
    },
    get openBroker() {
      return wills?.openBroker ?? (() => false);
    },
    settle(bound) {
      if (config.nodeId === undefined && link.nodeId !== defaultNodeId(bound)) {
        link.nodeId = defaultNodeId(bound);
        link.presence.renamed();
      }
      // The wills this node's earlier run left (it died, and came back before the others noticed) go now, after their delay.
      void wills?.reap(link.nodeId, Date.now(), link.incarnation);
    },
    async countNodes() {
      seen = await link.rollCall();
    },
    // Kept current by the nodes' presence messages (the start-up roll call's answers count as heard).
    nodesSeen: () => link.presence.count(),
    describe: () => `${redactServers(config.servers)} as node ${link.nodeId}${seen === undefined ? "" : `, ${seen} ${seen === 1 ? "node" : "nodes"} seen`}`,
    adminView(answer) {
      // The op names the subject; the query says it again, and is what is answered.
      queries.serve((_op, query) => answer(query as NodeQuery), (text) => logger.log("warn", `edgemq: ${text}`));
      return {
        get nodeId() {
          return link.nodeId;
        },
        // While NATS is away no other node can answer: this node's own answer, at once.
        ask: async (query) => (link.connected ? await queries.ask(query.op, query) : []) as NodeAnswer[],
      };
    },
    caughtUp: () => link.caughtUp(),
    unready: () => (link.connected ? undefined : `cut off from NATS (${redactServers(config.servers)}): reconnecting; QoS 1 and 2 PUBLISH are refused until then`),
    close: () => {
      queries.close();
      owners?.close();
      wills?.close();
      return link.close();
    },
  };
}
