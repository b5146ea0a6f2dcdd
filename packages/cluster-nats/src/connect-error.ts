/** The servers as logs may show them: a password in a URL (`nats://user:pass@host`) is masked. */
export function redactServers(servers: readonly string[]): string {
  return servers.map((url) => url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@")).join(",");
}

// What to do about a failed first connection, by what the NATS client said.
function remedy(message: string): string {
  if (/certificate|self.signed|CERT_|unable to verify/i.test(message)) return "give --cluster-tls-ca <file> with the CA that signed the NATS servers' certificates (and --cluster-tls-cert/--cluster-tls-key if they ask for a client certificate)";
  if (/tls|ssl|handshake/i.test(message)) return "the NATS servers and this node disagree on TLS: check --cluster-tls-ca, --cluster-tls-cert and --cluster-tls-key, and the servers' tls settings";
  if (/authori[sz]ation|authentication|permissions/i.test(message)) return "give the credentials the NATS servers expect: --cluster-creds <file>, --cluster-nkey <seed file>, or nats://user:pass@host in --cluster";
  // A server that verifies client certificates lets one without a certificate hang until the client gives up.
  if (/timeout/i.test(message)) return "a NATS server took the connection but did not finish it in time: if it verifies client certificates, give --cluster-tls-cert and --cluster-tls-key; else check that --cluster names NATS's client port";
  return "start nats-server (nats-server -js) there, or fix --cluster";
}

/** A start that could not reach any NATS server: what was tried, and what to do. */
export class ClusterConnectError extends Error {
  constructor(servers: readonly string[], cause: unknown) {
    const message = String((cause as Error)?.message ?? cause);
    super(`cannot reach the NATS cluster at ${redactServers(servers)} (${message}): ${remedy(`${message} ${String((cause as Error)?.cause ?? "")}`)}`);
    this.name = "ClusterConnectError";
  }
}
