// `edgemq pub` and `edgemq sub` typed the way mosquitto_pub and mosquitto_sub
// users type them: the real binary against a real server, side by side with
// Debian's mosquitto clients where their behaviour can be compared.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startCli, until } from "../support/cli.ts";
import { generatedAdminToken, type RunningBroker, startBroker } from "../support/server.ts";
import { freePort } from "../support/ports.ts";

let server: RunningBroker;
let api: Record<string, string>;
let at: string[]; // -h <host> -p <port>: the broker's TCP port (in WebSocket runs, the harness's bridge to it)

const edgemq = (args: string[], env: Record<string, string> = {}, input?: string) => runCli(args, env, input);
// Runs a mosquitto client to its end; asynchronously, since in WebSocket runs the harness's bridge that carries it lives in this process.
function mosquitto(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const kill = setTimeout(() => child.kill("SIGKILL"), 20_000);
  return new Promise((resolve) => child.once("close", (status) => {
    clearTimeout(kill);
    resolve({ status, stdout, stderr });
  }));
}
const subOf = (credential: string): string => JSON.parse(Buffer.from(credential.split(".")[1]!, "base64url").toString()).sub;


// Issues credentials on a broker of namespace "shop" through the CLI.
async function issue(broker: string, args: string[]): Promise<Record<string, string>> {
  const r = await edgemq(["broker", "issue", broker, "--namespace", "shop", "--json", ...args], api);
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as Record<string, string>;
}

beforeAll(async () => {
  server = await startBroker(["--admin-port", "0", "--sys-interval", "0"]);
  api = { EDGEMQ_API_URL: `http://127.0.0.1:${server.ports.http}`, EDGEMQ_API_TOKEN: generatedAdminToken(server.output()) };
  at = ["-h", server.host, "-p", String(server.port)];
  for (const args of [["namespace", "create", "shop"], ["broker", "create", "main", "--namespace", "shop"], ["broker", "create", "cf", "--namespace", "shop", "--preset", "cloudflare"]]) {
    expect((await edgemq(args, api)).code, args.join(" ")).toBe(0);
  }
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

describe("mosquitto's flags", () => {
  it("carries -m, -n, -f, -s and -l payloads given with -h -p -V -i -k -q, and prints them with -v as mosquitto_sub does", async () => {
    const ours = startCli(["sub", ...at, "-V", "mqttv311", "-i", "cli-sub", "-k", "30", "-t", "m/#", "-v", "-C", "6", "-W", "20"]);
    const theirs = spawn("mosquitto_sub", [...at, "-V", "mqttv311", "-t", "m/#", "-v", "-C", "6", "-W", "20"], { stdio: ["ignore", "pipe", "pipe"] });
    let theirOut = "";
    theirs.stdout.on("data", (d) => (theirOut += d));
    const theirsDone = new Promise<number | null>((r) => theirs.once("close", r));
    await until(() => ours.stderr().includes("subscribed to m/#"), "edgemq sub's subscription");
    // mosquitto_sub says nothing when subscribed; a retained message tells when it is.
    expect((await edgemq(["pub", ...at, "-t", "m/ready", "-m", "ready", "-r", "-q", "1"])).code).toBe(0);
    await until(() => theirOut.includes("m/ready ready"), "mosquitto_sub's subscription");

    const file = join(mkdtempSync(join(tmpdir(), "edgemq-cli-")), "payload.txt");
    writeFileSync(file, "from a file");
    const runs: [string[], string?][] = [
      [["-t", "m/text", "-m", "hello", "-q", "1", "-V", "5", "-i", "cli-pub", "-k", "10"]],
      [["-t", "m/file", "-f", file, "-V", "mqttv311"]],
      [["-t", "m/stdin", "-s", "-q", "2"], "all of it"],
      [["-t", "m/lines", "-l", "-q", "1"], "one\nthree\n"],
      [["-t", "m/ready", "-n", "-r", "-q", "1"]],
    ];
    for (const [args, input] of runs) {
      const r = await edgemq(["pub", ...at, ...args], {}, input);
      expect(r.stderr, args.join(" ")).toBe("");
      expect(r.code, args.join(" ")).toBe(0);
    }
    const got = await ours.done;
    expect(got.code).toBe(0);
    const expected = "m/ready ready\nm/text hello\nm/file from a file\nm/stdin all of it\nm/lines one\nm/lines three\n";
    expect(got.stdout).toBe(expected);
    expect(await theirsDone).toBe(0);
    expect(theirOut).toBe(expected);
    // -n with -r cleared the retained message: a new subscriber gets nothing within -W.
    const none = await edgemq(["sub", ...at, "-t", "m/ready", "-C", "1", "-W", "1"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/timed out after 1 s with 0 of 1 message\n$/);
  });

  it("prints each packet with -d in the words of mosquitto's -d, on stderr", async () => {
    const ours = await edgemq(["pub", ...at, "-d", "-i", "dbg", "-t", "d/t", "-m", "hi", "-q", "1"]);
    expect(ours.code).toBe(0);
    const theirs = await mosquitto("mosquitto_pub", [...at, "-d", "-i", "dbg", "-t", "d/t", "-m", "hi", "-q", "1"]);
    expect(theirs.status).toBe(0);
    // Message ids differ (mosquitto counts from 1), so compare with them blanked out.
    const shape = (text: string) => text.trim().split("\n").map((l) => l.replace(/\b(m|Mid: )\d+/g, "$1#").replace(/, RC:\d+/, ""));
    expect(shape(ours.stderr)).toEqual(shape(theirs.stdout));
    expect(shape(ours.stderr)).toContain("Client dbg sending PUBLISH (d0, q1, r0, m#, 'd/t', ... (2 bytes))");
  });

  it("prints the program's version for --version and a lone -V, and takes -V as the MQTT version after pub and sub", async () => {
    for (const flag of ["--version", "-V"]) expect(await edgemq([flag])).toEqual({ code: 0, stdout: "edgemq 0.1.0\n", stderr: "" });
    const bad = await edgemq(["pub", "-V", "mqttv31", "-t", "a", "-m", "b"]);
    expect(bad).toMatchObject({ code: 2, stdout: "" });
    expect(bad.stderr).toMatch(/^edgemq: -V must be one of 5, 311, mqttv5, mqttv311, 3\.1\.1, not "mqttv31"/);
    const both = await edgemq(["pub", "--url", "mqtt://127.0.0.1:1", "-p", "1883", "-t", "a", "-m", "b"]);
    expect(both.stderr).toMatch(/^edgemq: give the broker with --url or with -h\/-p, not both/);
    const help = await edgemq(["sub", "--help"]);
    expect(help.stdout).toMatch(/^\s+-h, --host <host>/m);
    const bareH = await edgemq(["sub", "-h"]);
    expect(bareH).toMatchObject({ code: 2, stdout: "" });
    expect(bareH.stderr).toMatch(/^edgemq: -h needs a value: -h <host>; for help, use --help/);
  });
});

describe("topics are checked before anything is sent", () => {
  it("refuses a wildcard in a publish topic and an invalid filter with exit 1, like mosquitto_pub and mosquitto_sub", async () => {
    // Nothing listens on the port: a message about the topic, not the connection, shows nothing was tried.
    const port = String(await freePort());
    const cases: [string, string[], RegExp][] = [
      ["pub", ["-t", "a/#", "-m", "x"], /^edgemq: invalid publish topic "a\/#": it contains the wildcard \+ or #, which only a subscription may use/],
      ["pub", ["-t", "a/+/c", "-m", "x"], /^edgemq: invalid publish topic "a\/\+\/c"/],
      ["sub", ["-t", "a/#/b"], /^edgemq: invalid subscription filter "a\/#\/b": it uses '#' other than as the whole last level/],
      ["sub", ["-t", "ok/#", "-t", "a+/b"], /^edgemq: invalid subscription filter "a\+\/b": it uses '\+' other than as a whole level/],
    ];
    for (const [command, args, message] of cases) {
      const ours = await edgemq([command, "-p", port, ...args]);
      expect(ours.code, args.join(" ")).toBe(1);
      expect(ours.stderr, args.join(" ")).toMatch(message);
      const theirs = await mosquitto(`mosquitto_${command}`, ["-p", port, ...args]);
      expect(theirs.status, `mosquitto_${command} ${args.join(" ")}`).toBe(1);
      expect(theirs.stderr).toMatch(/^Error: Invalid (publish|subscription) topic/);
    }
  });
});

describe("refusals are errors with the reason code", () => {
  let pubOnly: string;
  beforeAll(async () => {
    pubOnly = (await issue("main", ["--client-id", "writer", "--topic-acl", "pub:allowed/#"])).writer!;
  });

  it("reports a PUBACK or PUBREC at or above 0x80 with its reason code and exit 1, never Published", async () => {
    for (const qos of ["1", "2"]) {
      const r = await edgemq(["pub", ...at, "--credential", pubOnly, "-t", "denied/x", "-m", "x", "-q", qos]);
      expect(r.code, `QoS ${qos}`).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^edgemq: the broker at \S+ refused the message on "denied\/x": not authorized \(0x87\).*; the credential's topic ACL may not allow publishing there\n$/);
    }
    const lines = await edgemq(["pub", ...at, "--credential", pubOnly, "-t", "denied/x", "-l", "-q", "1"], {}, "a\nb\n");
    expect(lines.code).toBe(1);
    const ok = await edgemq(["pub", ...at, "--credential", pubOnly, "-t", "allowed/x", "-m", "x", "-q", "1"]);
    expect(ok).toMatchObject({ code: 0, stderr: "", stdout: 'Published 1 byte to "allowed/x" (QoS 1).\n' });
  });

  it("reports a refused subscription with its reason code and exit 1", async () => {
    const r = await edgemq(["sub", ...at, "--credential", pubOnly, "-t", "allowed/#", "-W", "5"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^edgemq: the broker at \S+ refused the subscription to "allowed\/#": not authorized \(0x87\)/);
  });

  it("reports the DISCONNECT that refuses a QoS 0 message instead of saying it was sent", async () => {
    const cf = Object.values(await issue("cf", []))[0]!;
    // The cloudflare preset allows QoS 0 only, and says so with DISCONNECT 0x9b at QoS 1.
    const r = await edgemq(["pub", ...at, "--credential", cf, "-t", "t", "-m", "x", "-q", "1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^edgemq: the broker at \S+ disconnected: QoS not supported \(0x9b\)/);
    const big = await edgemq(["broker", "update", "cf", "--namespace", "shop", "--limit", "max_message_size=64"], api);
    expect(big.code).toBe(0);
    const tooLarge = await edgemq(["pub", ...at, "--credential", cf, "-t", "t", "-m", "x".repeat(200)]);
    expect(tooLarge.code).toBe(1);
    expect(tooLarge.stdout).toBe("");
    expect(tooLarge.stderr).toMatch(/^edgemq: the broker at \S+ (disconnected: packet too large \(0x95\)|closed the connection)/);
    const small = await edgemq(["pub", ...at, "--credential", cf, "-t", "t", "-m", "x"]);
    expect(small).toMatchObject({ code: 0, stderr: "" });
    expect(small.stdout).toMatch(/^Sent 1 byte to "t" \(QoS 0: not acknowledged by MQTT/);
  });
});

describe("client ids fit the broker", () => {
  it("generates client ids within the cloudflare preset's 23 bytes, so the credentials connect", async () => {
    const issued = await issue("cf", ["-n", "3"]);
    expect(Object.keys(issued)).toHaveLength(3);
    for (const [id, credential] of Object.entries(issued)) {
      expect(id.length).toBeLessThanOrEqual(23);
      expect(subOf(credential)).toBe(id);
    }
    const r = await edgemq(["pub", ...at, "--credential", Object.values(issued)[0]!, "-t", "t", "-m", "x"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
  });

  it("refuses a --client-id longer than the broker allows, and names the limit when a broker refuses a long id", async () => {
    const long = "a-client-id-of-thirty-bytes-x";
    const refused = await edgemq(["broker", "issue", "cf", "--namespace", "shop", "--client-id", long], api);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--client-id "a-client-id-of-thirty-bytes-x" is 29 bytes, but broker "cf" in namespace "shop" allows client ids of at most 23 \(its max_client_id_length limit\)/);
    // The API refuses to issue it too (400); a credential issued before the limit was lowered is refused by the broker, which says why.
    const base = `${api.EDGEMQ_API_URL}/client/v4/accounts/default/pubsub/namespaces/shop/brokers/cf`;
    const headers = { authorization: `Bearer ${api.EDGEMQ_API_TOKEN}` };
    expect((await fetch(`${base}/credentials?clientid=${long}`, { headers })).status).toBe(400);
    const limit = (n: number | null) => fetch(base, { method: "PATCH", headers, body: JSON.stringify({ limits: { max_client_id_length: n } }) });
    await limit(64);
    const answer = await fetch(`${base}/credentials?clientid=${long}`, { headers });
    await limit(null);
    const credential = ((await answer.json()) as { result: Record<string, string> }).result[long]!;
    const r = await edgemq(["pub", ...at, "--credential", credential, "-t", "t", "-m", "x"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused the connection: client identifier not valid \(0x85\) \(client identifier longer than 23\); the client id "a-client-id-of-thirty-bytes-x" is 29 bytes and this broker allows at most 23 \(its max_client_id_length limit\): issue a credential with a shorter --client-id/);
  });
});
