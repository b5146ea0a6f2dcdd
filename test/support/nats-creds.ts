// NATS decentralized auth for tests: an operator, an account and a user made
// with nkeys, their JWTs signed here (the format nsc writes), a nats-server
// configuration that trusts the operator and preloads the account, and the
// user's .creds file, the way nsc would make them.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createAccount, createOperator, createUser, type KeyPair } from "@nats-io/nkeys";

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString("base64url");

// A JWT as nats-server reads it: ed25519-nkey, signed by the issuer's key.
function jwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const header = b64url(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" }));
  const claims = b64url(JSON.stringify({ jti: crypto.randomUUID().replace(/-/g, "").toUpperCase(), iat: Math.floor(Date.now() / 1000), iss: issuer.getPublicKey(), name, sub: subject, nats: { ...nats, version: 2 } }));
  return `${header}.${claims}.${b64url(issuer.sign(new TextEncoder().encode(`${header}.${claims}`)))}`;
}

/** The files of an operator-run NATS server and one user of it. */
export interface OperatorAuth {
  /** A nats-server configuration file: the operator trusted, the account preloaded (JetStream on). */
  serverConfig: string;
  /** The user's credentials file (JWT and nkey seed). */
  creds: string;
}

/** Writes into `dir` a server configuration and a user's .creds file, for `nats-server -c`. */
export function makeOperatorAuth(dir: string): OperatorAuth {
  const operator = createOperator();
  const account = createAccount();
  // JetStream needs a system account under an operator.
  const system = createAccount();
  const user = createUser();
  const operatorJwt = jwt(operator, operator.getPublicKey(), "edgemq-test-operator", { type: "operator", system_account: system.getPublicKey() });
  const systemJwt = jwt(operator, system.getPublicKey(), "SYS", { type: "account", limits: { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 } });
  const accountJwt = jwt(operator, account.getPublicKey(), "edgemq-test-account", {
    type: "account",
    limits: { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 },
  });
  const userJwt = jwt(account, user.getPublicKey(), "edgemq-node", { type: "user", pub: {}, sub: {}, subs: -1, data: -1, payload: -1 });
  const serverConfig = join(dir, "operator.conf");
  writeFileSync(serverConfig, [
    `operator: ${operatorJwt}`, `system_account: ${system.getPublicKey()}`, "resolver: MEMORY",
    `resolver_preload: {\n  ${account.getPublicKey()}: ${accountJwt}\n  ${system.getPublicKey()}: ${systemJwt}\n}`, "",
  ].join("\n"));
  const creds = join(dir, "edgemq.creds");
  writeFileSync(creds, [
    "-----BEGIN NATS USER JWT-----", userJwt, "------END NATS USER JWT------", "",
    "************************* IMPORTANT *************************", "NKEY Seed printed below can be used to sign and prove identity.", "",
    "-----BEGIN USER NKEY SEED-----", new TextDecoder().decode(user.getSeed()), "------END USER NKEY SEED------", "",
  ].join("\n"));
  return { serverConfig, creds };
}
