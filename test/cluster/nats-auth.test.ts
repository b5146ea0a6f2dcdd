// A node joining NATS servers that want TLS (with a private CA, and client
// certificates), an nkey user or operator credentials (issue 12):
// --cluster-tls-ca, --cluster-tls-cert/--cluster-tls-key, --cluster-nkey and
// --cluster-creds, from flags, the environment and the config file, on Node
// and on Bun or Deno; without them the node says which flag to give.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "@nats-io/nkeys";
import { mosquittoPub, mosquittoSub, waitFor } from "../support/clients.ts";
import { type Certificates, makeCertificates } from "../support/certs.ts";
import { makeOperatorAuth } from "../support/nats-creds.ts";
import { type RunningNats, startNats } from "../support/nats.ts";
import { type RunningBroker, runBrokerExpectingExit, startBroker, writeConfig } from "../support/server.ts";

let certs: Certificates;
let dir: string;
beforeAll(() => {
  certs = makeCertificates();
  dir = mkdtempSync(join(tmpdir(), "edgemq-nats-auth-"));
});

// A message from mosquitto_pub on `from` reaches mosquitto_sub on `to`: the two nodes share the cluster.
async function crosses(from: RunningBroker, to: RunningBroker, topic: string): Promise<void> {
  const sub = mosquittoSub(["-p", String(to.port), "-t", topic, "-q", "1"]);
  try {
    // Until the subscription is in place on the NATS server, a probe may pass unseen: send until one arrives.
    for (let i = 0; i < 50 && sub.lines().length === 0; i++) {
      expect((await mosquittoPub(["-p", String(from.port), "-t", topic, "-m", "across", "-q", "1"])).code).toBe(0);
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitFor(() => sub.lines().includes("across"), 3000, `a message on ${topic} across the nodes`);
  } finally {
    await sub.stop();
  }
}

describe("a NATS server that wants TLS", () => {
  let nats: RunningNats;
  beforeAll(async () => {
    nats = await startNats(["--tls", "--tlscert", certs.serverCert, "--tlskey", certs.serverKey]);
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it("is joined with --cluster-tls-ca (or EDGEMQ_CLUSTER_TLS_CA, on Bun), and messages cross over it", async () => {
    const a = await startBroker(["--cluster", nats.url, "--node-id", "tls-a", "--cluster-tls-ca", certs.caCert, "--sys-interval", "0"]);
    const b = await startBroker(["--cluster", nats.url, "--node-id", "tls-b", "--sys-interval", "0"], { EDGEMQ_CLUSTER_TLS_CA: certs.caCert }, { runtime: "bun" });
    try {
      expect(a.output()).toContain(`cluster: ${nats.url} as node tls-a`);
      await crosses(a, b, "tls/t");
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("is not joined without the CA: the node exits saying to give --cluster-tls-ca", async () => {
    const { code, output } = await runBrokerExpectingExit(["--port", "0", "--cluster", nats.url]);
    expect(code).toBe(1);
    expect(output).toContain(`cannot reach the NATS cluster at ${nats.url}`);
    expect(output).toContain("give --cluster-tls-ca <file>");
  });

  it("refuses a CA file that is missing or not PEM, naming the flag (status 2)", async () => {
    const missing = await runBrokerExpectingExit(["--port", "0", "--cluster", nats.url, "--cluster-tls-ca", join(dir, "nope.pem")]);
    expect(missing.code).toBe(2);
    expect(missing.output).toMatch(/--cluster-tls-ca .*nope\.pem: cannot read it \(.*\); give the path of the PEM CA bundle/);
    const notPem = join(dir, "not.pem");
    writeFileSync(notPem, "hello");
    const bad = await runBrokerExpectingExit(["--port", "0", "--cluster", nats.url, "--cluster-tls-ca", notPem]);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain(`--cluster-tls-ca ${notPem} is not a PEM file`);
  });
});

describe("a NATS server that verifies client certificates", () => {
  let nats: RunningNats;
  beforeAll(async () => {
    nats = await startNats(["--tlsverify", "--tlscert", certs.serverCert, "--tlskey", certs.serverKey, "--tlscacert", certs.caCert]);
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it("is joined with --cluster-tls-cert and --cluster-tls-key (or the config file's cluster.tls, on Deno), and not without a certificate", async () => {
    const a = await startBroker(["--cluster", nats.url, "--node-id", "mtls-a", "--cluster-tls-ca", certs.caCert, "--cluster-tls-cert", certs.clientCert, "--cluster-tls-key", certs.clientKey, "--sys-interval", "0"]);
    const config = writeConfig({ cluster: { servers: [nats.url], nodeId: "mtls-b", tls: { ca: certs.caCert, cert: certs.clientCert, key: certs.clientKey } } });
    const b = await startBroker(["--config", config, "--sys-interval", "0"], {}, { runtime: "deno" });
    try {
      await crosses(b, a, "mtls/t");
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    const { code, output } = await runBrokerExpectingExit(["--port", "0", "--cluster", nats.url, "--cluster-tls-ca", certs.caCert]);
    expect(code).toBe(1);
    expect(output).toContain(`cannot reach the NATS cluster at ${nats.url}`);
    expect(output).toContain("give --cluster-tls-cert and --cluster-tls-key");
  });
});

describe("a NATS server whose users are nkeys", () => {
  let nats: RunningNats;
  const user = createUser();
  let seedFile: string;
  beforeAll(async () => {
    const conf = join(dir, "nkey.conf");
    writeFileSync(conf, `authorization {\n  users = [ { nkey: ${user.getPublicKey()} } ]\n}\n`);
    seedFile = join(dir, "edgemq.nk");
    writeFileSync(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`);
    nats = await startNats(["-c", conf]);
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it("is joined with --cluster-nkey (or EDGEMQ_CLUSTER_NKEY), signing the server's nonce, and messages cross", async () => {
    const a = await startBroker(["--cluster", nats.url, "--node-id", "nk-a", "--cluster-nkey", seedFile, "--sys-interval", "0"]);
    const b = await startBroker(["--cluster", nats.url, "--node-id", "nk-b", "--sys-interval", "0"], { EDGEMQ_CLUSTER_NKEY: seedFile });
    try {
      await crosses(a, b, "nk/t");
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("is not joined without the nkey, or with a file that holds no seed, and says which flag to give", async () => {
    const none = await runBrokerExpectingExit(["--port", "0", "--cluster", nats.url]);
    expect(none.code).toBe(1);
    expect(none.output).toMatch(/Authorization Violation.*--cluster-creds <file>, --cluster-nkey <seed file>/i);
    const stranger = join(dir, "stranger.nk");
    writeFileSync(stranger, new TextDecoder().decode(createUser().getSeed()));
    expect((await runBrokerExpectingExit(["--port", "0", "--cluster", nats.url, "--cluster-nkey", stranger])).code).toBe(1);
    const notSeed = join(dir, "public.nk");
    writeFileSync(notSeed, user.getPublicKey());
    const bad = await runBrokerExpectingExit(["--port", "0", "--cluster", nats.url, "--cluster-nkey", notSeed]);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain(`--cluster-nkey ${notSeed} holds no user nkey seed`);
  });
});

describe("a NATS server run with an operator (JWT users)", () => {
  let nats: RunningNats;
  let creds: string;
  beforeAll(async () => {
    const auth = makeOperatorAuth(dir);
    creds = auth.creds;
    nats = await startNats(["-c", auth.serverConfig]);
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it("is joined with --cluster-creds (or EDGEMQ_CLUSTER_CREDS, on Bun), and messages cross", async () => {
    const a = await startBroker(["--cluster", nats.url, "--node-id", "creds-a", "--cluster-creds", creds, "--sys-interval", "0"]);
    const b = await startBroker(["--cluster", nats.url, "--node-id", "creds-b", "--sys-interval", "0"], { EDGEMQ_CLUSTER_CREDS: creds }, { runtime: "bun" });
    try {
      await crosses(b, a, "creds/t");
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("refuses a file that is not a credentials file, naming the flag (status 2)", async () => {
    const bad = await runBrokerExpectingExit(["--port", "0", "--cluster", nats.url, "--cluster-creds", certs.caCert]);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain(`--cluster-creds ${certs.caCert} is not a NATS credentials file`);
  });
});
