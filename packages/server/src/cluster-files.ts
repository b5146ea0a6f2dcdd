import { readFileSync } from "node:fs";
import type { ClusterOptions } from "@edgemq/cluster-nats";
import { type ClusterConfig, ConfigError } from "./config.ts";

// A file a flag names, as text; one that cannot be read names the flag and what it should be.
function read(flag: string, path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`${flag} ${path}: cannot read it (${(e as Error).message}); give the path of ${what}`);
  }
}

// A PEM file: a certificate or key that is not PEM would fail later, in the TLS handshake, as something vaguer.
function pem(flag: string, path: string, what: string): string {
  const text = read(flag, path, what);
  if (!text.includes("-----BEGIN ")) throw new ConfigError(`${flag} ${path} is not a PEM file (no "-----BEGIN" line): give ${what}`);
  return text;
}

/**
 * The NATS credentials and TLS files of `config`, read at start-up so that a
 * missing or wrong file stops the node with a message naming its flag,
 * rather than a refused connection later.
 */
export function readClusterFiles(config: ClusterConfig): Pick<ClusterOptions, "creds" | "nkeySeed" | "tls"> {
  const out: Pick<ClusterOptions, "creds" | "nkeySeed" | "tls"> = {};
  if (config.creds !== undefined) {
    const what = "the NATS credentials (.creds) file made for this node (nsc generate creds)";
    const text = read("--cluster-creds", config.creds, what);
    if (!/-----BEGIN NATS USER JWT-----/.test(text) || !/-----BEGIN USER NKEY SEED-----/.test(text)) {
      throw new ConfigError(`--cluster-creds ${config.creds} is not a NATS credentials file (it needs a user JWT and a user nkey seed block): give ${what}`);
    }
    out.creds = new TextEncoder().encode(text);
  }
  if (config.nkey !== undefined) {
    const what = "a file holding this node's NATS user nkey seed (nk -gen user)";
    const seed = /^\s*(SU[A-Z2-7]{56})\s*$/m.exec(read("--cluster-nkey", config.nkey, what))?.[1];
    if (seed === undefined) throw new ConfigError(`--cluster-nkey ${config.nkey} holds no user nkey seed (a line of 58 characters starting SU): give ${what}`);
    out.nkeySeed = new TextEncoder().encode(seed);
  }
  if (config.tlsCa !== undefined || config.tlsCert !== undefined) {
    out.tls = {
      ...(config.tlsCa === undefined ? {} : { ca: pem("--cluster-tls-ca", config.tlsCa, "the PEM CA bundle that signed the NATS servers' certificates") }),
      ...(config.tlsCert === undefined ? {} : {
        cert: pem("--cluster-tls-cert", config.tlsCert, "this node's PEM client certificate"),
        key: pem("--cluster-tls-key", config.tlsKey!, "the PEM private key of --cluster-tls-cert"),
      }),
    };
  }
  return out;
}
