// The `edgemq` command line as an operator uses it: the real binary
// (node_modules/.bin/edgemq, linked by npm install) run as a process against a
// real server with the admin API, through the whole lifecycle of a namespace
// and its broker, with pub and sub over MQTT, and every kind of failure.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GROUPS, SINGLE_COMMANDS } from "@edgemq/cli";
import { runCli, startCli as start, until } from "../support/cli.ts";
import { connect } from "../support/clients.ts";
import { generatedAdminToken, type RunningBroker, startBroker } from "../support/server.ts";
import { freePort } from "../support/ports.ts";

let server: RunningBroker;
let api: Record<string, string>;
let adminToken: string;
let mqttUrl: string;

/** Runs `edgemq …` against the test server's admin API and waits for it to exit. */
const edgemq = (args: string[], env: Record<string, string> = api) => runCli(args, env);

/** Runs `edgemq … --json`, expects exit 0, and parses what it printed. */
async function json<T = any>(args: string[]): Promise<T> {
  const r = await edgemq([...args, "--json"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
}

const jtiOf = (credential: string): string => JSON.parse(Buffer.from(credential.split(".")[1]!, "base64url").toString()).jti;


beforeAll(async () => {
  server = await startBroker(["--admin-port", "0", "--sys-interval", "0"]);
  adminToken = generatedAdminToken(server.output());
  api = { EDGEMQ_API_URL: `http://127.0.0.1:${server.ports.http}`, EDGEMQ_API_TOKEN: adminToken };
  mqttUrl = server.url;
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

describe("help", () => {
  it("prints help for the program, every group and every command, on stdout with exit 0", async () => {
    const top = await edgemq(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain("Usage: edgemq <command>");
    for (const g of GROUPS) expect(top.stdout).toContain(g.name);
    for (const c of SINGLE_COMMANDS) expect(top.stdout).toContain(c.path[0]!);

    const runs = [
      ...GROUPS.map((g) => [g.name, "--help"]),
      ...GROUPS.flatMap((g) => g.commands.map((c) => [...c.path, "--help"])),
      ...SINGLE_COMMANDS.map((c) => [...c.path, "--help"]),
    ];
    const results = await Promise.all(runs.map((args) => edgemq(args, {})));
    results.forEach((r, i) => {
      const args = runs[i]!;
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stderr, args.join(" ")).toBe("");
      expect(r.stdout, args.join(" ")).toMatch(new RegExp(`^Usage: edgemq ${args.slice(0, -1).join(" ")} `));
    });
    const issue = await edgemq(["help", "broker", "issue"], {});
    expect(issue.code).toBe(0);
    expect(issue.stdout).toContain("--client-id <id>");
    expect(issue.stdout).toContain("--namespace, --ns <ns>");
    expect(issue.stdout).toContain("Global flags:");
  });

  it("prints its version with --version", async () => {
    const r = await edgemq(["--version"], {});
    expect(r).toEqual({ code: 0, stdout: "edgemq 0.1.0\n", stderr: "" });
  });

  it("prints the overview on stderr with exit 2 when no command is given", async () => {
    const r = await edgemq([], {});
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("Usage: edgemq <command>");
    expect(r.stderr).toContain("edgemq: no command given");
  });
});

describe("the lifecycle of a namespace and its broker", () => {
  let subscriberCredential: string;
  let publisherCredential: string;

  it("creates a namespace, lists it in a table and describes it as JSON", async () => {
    const created = await edgemq(["namespace", "create", "acme", "--description", "ACME devices"]);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('Created namespace "acme".');

    const list = await edgemq(["namespace", "list"]);
    expect(list.code).toBe(0);
    const [header, row] = list.stdout.trim().split("\n");
    expect(header).toMatch(/^NAME\s+DESCRIPTION\s+ID\s+CREATED$/);
    expect(row).toMatch(/^acme\s+ACME devices\s+[0-9a-f]{32}\s+\d{4}-/);

    const ns = await json(["namespace", "describe", "acme"]);
    expect(ns).toMatchObject({ name: "acme", description: "ACME devices" });
    expect(ns.id).toMatch(/^[0-9a-f]{32}$/);
    expect(await json(["namespace", "list"])).toEqual([ns]);
  });

  it("creates a broker, lists and describes it, and updates it", async () => {
    const created = await json(["broker", "create", "sensors", "--namespace", "acme", "--expiration", "30d"]);
    expect(created).toMatchObject({ name: "sensors", authType: "TOKEN", expiration: 30 * 86_400 });

    const list = await edgemq(["broker", "list", "--ns", "acme"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+AUTH TYPE\s+EXPIRATION\s+ENDPOINT/);
    expect(list.stdout).toMatch(/\nsensors\s+TOKEN\s+30d\s+\S+sensors\.acme/);

    const updated = await json(["broker", "update", "sensors", "--namespace", "acme", "--description", "room sensors",
      "--expiration", "48h", "--on-publish-url", "https://hooks.example/mqtt"]);
    expect(updated).toMatchObject({ description: "room sensors", expiration: 48 * 3600, on_publish: { url: "https://hooks.example/mqtt" } });

    const described = await edgemq(["broker", "describe", "sensors", "--namespace", "acme"]);
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/^name:\s+sensors$/m);
    expect(described.stdout).toMatch(/^description:\s+room sensors$/m);
    expect(described.stdout).toMatch(/^expiration:\s+2d \(172800 s\)$/m);
    expect(described.stdout).toMatch(/^on publish:\s+https:\/\/hooks\.example\/mqtt$/m);
    expect(described.stdout).toMatch(/^on publish fails:\s+closed \(dropped\)$/m);

    const open = await json(["broker", "update", "sensors", "--namespace", "acme", "--on-publish-fail-open"]);
    expect(open.on_publish).toEqual({ url: "https://hooks.example/mqtt", fail_open: true });
    const both = await edgemq(["broker", "update", "sensors", "--namespace", "acme", "--on-publish-fail-open", "--on-publish-fail-closed"]);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/give --on-publish-fail-open or --on-publish-fail-closed, not both/);

    const cleared = await json(["broker", "update", "sensors", "--namespace", "acme", "--expiration", "none", "--on-publish-url", "none"]);
    expect(cleared.expiration).toBeNull();
    expect(cleared.on_publish).toBeUndefined();
  });

  it("creates a broker with the cloudflare preset and its own limits, shows them, changes one and returns another to the preset's", async () => {
    await json(["namespace", "create", "quota"]);
    const created = await json(["broker", "create", "cf", "--namespace", "quota", "--preset", "cloudflare", "--limit", "max_connections=50", "--limit", "max_message_size=4096"]);
    expect(created.preset).toBe("cloudflare");
    expect(created.limits).toMatchObject({ max_connections: 50, max_message_size: 4096, max_packets_per_second: 10, max_client_id_length: 23 });

    const described = await edgemq(["broker", "describe", "cf", "--namespace", "quota"]);
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/^preset:\s+cloudflare$/m);
    expect(described.stdout).toMatch(/^max_connections\s+50$/m);
    expect(described.stdout).toMatch(/^max_packets_per_second\s+10$/m);

    const updated = await json(["broker", "update", "cf", "--namespace", "quota", "--limit", "max_packets_per_second=25", "--limit", "max_message_size=default"]);
    expect(updated.limits).toMatchObject({ max_packets_per_second: 25, max_message_size: 64_000, max_connections: 50 });

    const refused = await edgemq(["broker", "update", "cf", "--namespace", "quota", "--limit", "max_message_size=10"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/limits\.max_message_size must be a whole number from 64 to 268435455/);

    expect((await edgemq(["broker", "delete", "cf", "--namespace", "quota", "--yes"])).code).toBe(0);
    expect((await edgemq(["namespace", "delete", "quota", "--yes"])).code).toBe(0);
  });

  it("issues credentials, shown as a table with their jti or as the API's JSON", async () => {
    const table = await edgemq(["broker", "issue", "sensors", "--namespace", "acme", "--client-id", "dev-sub"]);
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.trim().split("\n");
    expect(header).toMatch(/^CLIENT ID\s+JTI\s+EXPIRES\s+CREDENTIAL$/);
    const [clientId, jti, expires, credential] = row!.split(/\s+/);
    expect(clientId).toBe("dev-sub");
    expect(jti).toBe(jtiOf(credential!));
    expect(expires).toBe("never");
    subscriberCredential = credential!;

    const issued = await json<Record<string, string>>(["broker", "issue", "sensors", "--namespace", "acme",
      "--client-id", "dev-pub", "--topic-acl", "pub:sensors/#", "--expiration", "1h"]);
    expect(Object.keys(issued)).toEqual(["dev-pub"]);
    publisherCredential = issued["dev-pub"]!;
    const claims = JSON.parse(Buffer.from(publisherCredential.split(".")[1]!, "base64url").toString());
    expect(claims.exp - claims.iat).toBe(3600);

    const generated = await json<Record<string, string>>(["broker", "issue", "sensors", "--namespace", "acme", "-n", "3"]);
    expect(Object.keys(generated)).toHaveLength(3);
  });

  it("carries a message from edgemq pub to edgemq sub with the issued credentials", async () => {
    const sub = start(["sub", "--url", mqttUrl, "--credential", subscriberCredential, "-t", "sensors/#", "-v", "-C", "2", "-W", "20"]);
    await until(() => sub.stderr().includes("subscribed to sensors/#"), "the subscription");

    const pub1 = await edgemq(["pub", "--url", mqttUrl, "--credential", publisherCredential, "-t", "sensors/room-1", "-m", "21.5", "-q", "1"]);
    expect(pub1).toMatchObject({ code: 0, stderr: "" });
    expect(pub1.stdout).toContain('Published 4 bytes to "sensors/room-1" (QoS 1)');
    const pub2 = await edgemq(["pub", "--url", mqttUrl, "--credential", publisherCredential, "-t", "sensors/room-2", "-m", "19", "-q", "2", "-r"]);
    expect(pub2.code).toBe(0);

    const got = await sub.done;
    expect(got.code).toBe(0);
    expect(got.stdout).toBe("sensors/room-1 21.5\nsensors/room-2 19\n");

    // The retained one comes back to a new subscriber, as a JSON line with --json.
    const again = await edgemq(["sub", "--url", mqttUrl, "--credential", subscriberCredential, "-t", "sensors/room-2", "-C", "1", "-W", "10", "--json"]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ topic: "sensors/room-2", payload: "19", qos: 0, retain: true });
  });

  it("reports a publish and a subscription the credential's topic ACL refuses, with exit 1", async () => {
    const pub = await edgemq(["pub", "--url", mqttUrl, "--credential", publisherCredential, "-t", "other/topic", "-m", "x", "-q", "1"]);
    expect(pub.code).toBe(1);
    expect(pub.stderr).toMatch(/^edgemq: the broker at \S+ refused the message on "other\/topic": not authorized \(0x87\)/);
    const sub = await edgemq(["sub", "--url", mqttUrl, "--credential", publisherCredential, "-t", "sensors/#", "-W", "5"]);
    expect(sub.code).toBe(1);
    expect(sub.stderr).toMatch(/^edgemq: the broker at \S+ refused the subscription to "sensors\/#": not authorized \(0x87\)/);
  });

  it("revokes a credential so that edgemq pub is refused, shows the revocation, and unrevokes it", async () => {
    const jti = jtiOf(publisherCredential);
    const revoked = await edgemq(["broker", "revoke", "sensors", "--namespace", "acme", "--jti", jti]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`Revoked 1 credential on broker "sensors" in namespace "acme": ${jti}.`);

    const refused = await edgemq(["pub", "--url", mqttUrl, "--credential", publisherCredential, "-t", "sensors/room-1", "-m", "x"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^edgemq: the broker at \S+ refused the connection: not authorized \(0x87\) \(the credential has been revoked\); issue a new credential \(edgemq broker issue\), or lift the revocation \(edgemq broker unrevoke\)/);
    expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack trace

    const shown = await edgemq(["broker", "show-revocations", "sensors", "--namespace", "acme"]);
    expect(shown.stdout.trim().split("\n")).toEqual(["JTI", jti]);
    expect(await json(["broker", "show-revocations", "sensors", "--namespace", "acme"])).toEqual([jti]);

    const unrevoked = await edgemq(["broker", "unrevoke", "sensors", "--namespace", "acme", "--jti", jti]);
    expect(unrevoked.code).toBe(0);
    expect(await json(["broker", "show-revocations", "sensors", "--namespace", "acme"])).toEqual([]);
    const works = await edgemq(["pub", "--url", mqttUrl, "--credential", publisherCredential, "-t", "sensors/room-1", "-m", "back", "-q", "1"]);
    expect(works.code).toBe(0);
  });

  it("shows the public keys, and rotate-keys puts a new key first while keeping the previous one", async () => {
    const before = await json<{ keys: { kid: string; kty: string; crv: string; alg: string }[] }>(["broker", "public-keys", "sensors", "--namespace", "acme"]);
    expect(before.keys).toHaveLength(1);
    expect(before.keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA" });
    const table = await edgemq(["broker", "public-keys", "sensors", "--namespace", "acme"]);
    expect(table.stdout).toMatch(new RegExp(`^KID\\s+ALG\\s+CRV\\s+USE\\s+X\\n${before.keys[0]!.kid}\\s+EdDSA\\s+Ed25519\\s+sig\\s+\\S+\\n$`));

    const rotated = await edgemq(["broker", "rotate-keys", "sensors", "--namespace", "acme"]);
    expect(rotated.code).toBe(0);
    const after = await json<{ keys: { kid: string }[] }>(["broker", "public-keys", "sensors", "--namespace", "acme"]);
    expect(after.keys.map((k) => k.kid)).toEqual([expect.not.stringMatching(before.keys[0]!.kid), before.keys[0]!.kid]);
    expect(rotated.stdout).toContain(`new credentials are signed with ${after.keys[0]!.kid}`);
  });

  it("lists a connected client and disconnects it, which ends its edgemq sub with the reason", async () => {
    const sub = start(["sub", "--url", mqttUrl, "--credential", subscriberCredential, "-t", "sensors/#", "-W", "20"]);
    await until(() => sub.stderr().includes("subscribed to"), "the subscription");

    const clients = await edgemq(["broker", "clients", "sensors", "--namespace", "acme"]);
    expect(clients.code).toBe(0);
    expect(clients.stdout).toMatch(/^CLIENT ID\s+USERNAME\s+MQTT/);
    expect(clients.stdout).toMatch(new RegExp(`\\ndev-sub\\s+dev-sub\\s+5\\.0\\s+\\w+\\s+\\S+\\s+\\S+\\s+1\\s+0\\s+${jtiOf(subscriberCredential)}\\n`));
    const listed = await json(["broker", "clients", "sensors", "--namespace", "acme"]);
    expect(listed.map((c: { client_id: string }) => c.client_id)).toEqual(["dev-sub"]);

    const sessions = await edgemq(["broker", "sessions", "sensors", "--namespace", "acme"]);
    expect(sessions.stdout).toMatch(/\ndev-sub\s+yes\s+/);
    const subscriptions = await edgemq(["broker", "subscriptions", "sensors", "--namespace", "acme", "--topic", "sensors/room-9"]);
    expect(subscriptions.stdout).toMatch(/\ndev-sub\s+sensors\/#\s+0\s+no\n/);

    const done = await edgemq(["broker", "disconnect", "sensors", "--namespace", "acme", "--client-id", "dev-sub"]);
    expect(done.code).toBe(0);
    expect(done.stdout).toContain('Disconnected client "dev-sub" from broker "sensors" in namespace "acme"; its session was kept.');
    const ended = await sub.done;
    expect(ended.code).toBe(1);
    expect(ended.stderr).toMatch(/edgemq: the broker at \S+ disconnected: administrative action \(0x98\)/);

    const none = await edgemq(["broker", "disconnect", "sensors", "--namespace", "acme", "--client-id", "dev-sub"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^edgemq: no client "dev-sub" is connected to broker "sensors" \(HTTP 404\)\n$/);

    // A lasting session (edgemq sub starts clean ones) left behind offline; end-session ends it.
    const lasting = await connect(mqttUrl, { clientId: "dev-sub", username: "dev-sub", password: subscriberCredential, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 600 } });
    await lasting.subscribeAsync("sensors/#");
    await lasting.endAsync();
    expect((await edgemq(["broker", "sessions", "sensors", "--namespace", "acme"])).stdout).toMatch(/\ndev-sub\s+no\s+/);
    const ended2 = await edgemq(["broker", "end-session", "sensors", "--namespace", "acme", "--client-id", "dev-sub"]);
    expect(ended2.code).toBe(0);
    expect(ended2.stdout).toBe('Ended the session of "dev-sub" on broker "sensors" in namespace "acme".\n');
    const again = await edgemq(["broker", "end-session", "sensors", "--namespace", "acme", "--client-id", "dev-sub"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^edgemq: broker "sensors" has no session for client "dev-sub" \(HTTP 404\)\n$/);
  });

  it("lists, publishes and clears retained messages through the admin API", async () => {
    const published = await edgemq(["broker", "publish", "sensors", "--namespace", "acme", "-t", "sensors/room-3", "-m", "hello", "--retain"]);
    expect(published.code).toBe(0);
    expect(published.stdout).toMatch(/Published to "sensors\/room-3" on broker "sensors" in namespace "acme"; it matched \d+ subscriptions?\./);
    const retained = await json(["broker", "retained", "sensors", "--namespace", "acme", "--topic", "sensors/#"]);
    expect(retained.map((m: { topic: string }) => m.topic)).toEqual(["sensors/room-2", "sensors/room-3"]);
    const table = await edgemq(["broker", "retained", "sensors", "--namespace", "acme"]);
    expect(table.stdout).toMatch(/\nsensors\/room-3\s+0\s+\S+\s+hello\n/);
    const cleared = await edgemq(["broker", "clear-retained", "sensors", "--namespace", "acme", "--topic", "sensors/#"]);
    expect(cleared.stdout).toContain("Deleted 2 retained messages");
    expect(await json(["broker", "retained", "sensors", "--namespace", "acme"])).toEqual([]);
  });

  it("creates, lists and deletes API tokens, and a scoped User token is refused elsewhere with 403", async () => {
    const created = await edgemq(["token", "create", "--name", "ci", "--role", "user", "--namespace", "acme"]);
    expect(created.code).toBe(0);
    const secret = /keep it:\n(\S+)\n/.exec(created.stdout)?.[1];
    expect(secret).toMatch(/^emq_/);
    expect(created.stdout).toMatch(/^role:\s+User$/m);
    expect(created.stdout).toMatch(/^namespaces:\s+acme$/m);

    const list = await edgemq(["token", "list"]);
    expect(list.stdout).toMatch(/^ID\s+NAME\s+ROLE\s+NAMESPACES\s+SOURCE\s+CREATED\n/);
    expect(list.stdout).toMatch(/\n[0-9a-f]{32}\s+ci\s+User\s+acme\s+api\s+/);
    const tokens = await json<{ id: string; name: string }[]>(["token", "list"]);
    const ci = tokens.find((t) => t.name === "ci")!;
    expect(await json(["token", "describe", ci.id])).toMatchObject({ name: "ci", role: "User", namespaces: ["acme"] });

    // The new token works in its namespace, from the environment...
    const asUser = { ...api, EDGEMQ_API_TOKEN: secret! };
    const brokers = await edgemq(["broker", "list", "--namespace", "acme", "--json"], asUser);
    expect(brokers.code).toBe(0);
    // ...and is refused where its role or scope does not reach.
    const forbidden = await edgemq(["namespace", "create", "other"], asUser);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/^edgemq: .*cannot create or delete namespaces \(HTTP 403; use an API token whose role and namespaces allow this/);

    const deleted = await edgemq(["token", "delete", ci.id]);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain(`Deleted API token ${ci.id}.`);
    const gone = await edgemq(["broker", "list", "--namespace", "acme"], asUser);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/\(HTTP 401; check --token or EDGEMQ_API_TOKEN\)\n$/);
  });

  it("refuses to delete a namespace that has a broker, then deletes the broker and the namespace", async () => {
    const busy = await edgemq(["namespace", "delete", "acme"]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/^edgemq: .*sensors.*\(HTTP 409\)\n$/);

    const broker = await edgemq(["broker", "delete", "sensors", "--namespace", "acme"]);
    expect(broker.code).toBe(0);
    expect(broker.stdout).toContain('Deleted broker "sensors" in namespace "acme".');
    const refused = await edgemq(["pub", "--url", mqttUrl, "--credential", subscriberCredential, "-t", "sensors/x", "-m", "x"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^edgemq: the broker at \S+ refused the connection: /);

    expect(await json(["namespace", "delete", "acme"])).toBeNull();
    const list = await edgemq(["namespace", "list"]);
    expect(list.stdout).toContain("No namespaces yet");
    expect(await json(["namespace", "list"])).toEqual([]);
  });
});

describe("flags and environment", () => {
  it("takes the global flags before the command, and a full Cloudflare-style base URL", async () => {
    const base = `http://127.0.0.1:${server.ports.http}/client/v4/accounts/0123456789abcdef0123456789abcdef/pubsub`;
    const r = await edgemq(["--url", base, "--token", adminToken, "--json", "namespace", "create", "early"], {});
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: "early" });
    const r2 = await edgemq(["namespace", "delete", "early", "--account-id", "another", "--yes"]);
    expect(r2.code).toBe(0);
  });

  it("says how to give the admin API URL and token when neither is set, with exit 2", async () => {
    const noUrl = await edgemq(["namespace", "list"], { EDGEMQ_API_TOKEN: adminToken });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/^edgemq: no admin API URL: pass --url http:\/\/127\.0\.0\.1:<admin port> or set EDGEMQ_API_URL/);
    const noToken = await edgemq(["namespace", "list"], { EDGEMQ_API_URL: api.EDGEMQ_API_URL! });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/^edgemq: no API token: pass --token <token> or set EDGEMQ_API_TOKEN/);
    // EDGEMQ_ADMIN_TOKEN, the server's own setting, is read too.
    const adminEnv = await edgemq(["namespace", "list"], { EDGEMQ_API_URL: api.EDGEMQ_API_URL!, EDGEMQ_ADMIN_TOKEN: adminToken });
    expect(adminEnv.code).toBe(0);
  });
});

describe("errors", () => {
  it("names an unknown command or flag, a missing argument or value and a bad value, with exit 2 and a pointer to --help", async () => {
    const cases: [string[], RegExp][] = [
      [["brokr", "list"], /^edgemq: unknown command "brokr" \(did you mean "broker"\?\); the commands are .* \(see: edgemq --help\)\n$/],
      [["broker", "lst", "--ns", "acme"], /^edgemq: unknown command "broker lst" \(did you mean "broker list"\?\).*\(see: edgemq broker --help\)\n$/],
      [["broker"], /^edgemq: "edgemq broker" needs a command: create, update, list, .*\(see: edgemq broker --help\)\n$/],
      [["namespace", "list", "--namepsace", "x"], /^edgemq: unknown flag --namepsace for "edgemq namespace list" \(see: edgemq namespace list --help\)\n$/],
      [["broker", "list", "--namepsace", "x"], /^edgemq: unknown flag --namepsace for "edgemq broker list" \(did you mean "--namespace"\?\)/],
      [["namespace", "create"], /^edgemq: missing <name>, the namespace's name: .*; usage: edgemq namespace create <name> \(see: edgemq namespace create --help\)\n$/],
      [["namespace", "create", "a", "b"], /^edgemq: unexpected argument "b"; usage: edgemq namespace create <name>/],
      [["broker", "list"], /^edgemq: missing --namespace <ns>: the broker's namespace \(see: edgemq broker list --help\)\n$/],
      [["broker", "describe", "x", "--namespace"], /^edgemq: --namespace needs a value: --namespace <ns>/],
      [["broker", "create", "x", "--ns", "acme", "--auth-type", "PASSWORD"], /^edgemq: --auth-type must be one of TOKEN, MTLS, MTLS_AND_TOKEN, not "PASSWORD"/],
      [["broker", "create", "x", "--ns", "acme", "--expiration", "soon"], /^edgemq: --expiration must be a lifetime such as 3600, 90m, 48h or 30d/],
      [["broker", "issue", "x", "--ns", "acme", "-n", "0"], /^edgemq: --number must be a whole number from 1 to 100, not "0"/],
      [["broker", "revoke", "x", "--ns", "acme"], /^edgemq: missing --jti <jti>/],
      [["broker", "update", "x", "--ns", "acme"], /^edgemq: nothing to update: give --description, --expiration, --on-publish-url, --on-publish-fail-open, --preset or --limit/],
      [["broker", "update", "x", "--ns", "acme", "--limit", "max_message_size"], /^edgemq: --limit takes name=value, such as max_message_size=65536, not "max_message_size"/],
      [["broker", "create", "x", "--ns", "acme", "--limit", "max_message_size=big"], /^edgemq: --limit max_message_size needs a whole number, not "big"/],
      [["broker", "create", "x", "--ns", "acme", "--preset", "aws"], /--preset/],
      [["token", "create", "--name", "x", "--role", "Owner"], /^edgemq: --role must be one of Admin, User, Viewer, not "Owner"/],
      [["namespace", "list", "--json=yes"], /^edgemq: --json is a switch and takes no value/],
      [["namespace", "list", "--url", "127.0.0.1 8080"], /^edgemq: --url "127\.0\.0\.1 8080" is not a URL/],
      [["namespace", "list", "--url", "mqtt://127.0.0.1:1883"], /^edgemq: --url "mqtt:\/\/127\.0\.0\.1:1883" is not an http:\/\/ or https:\/\/ URL/],
      [["pub", "-t", "a"], /^edgemq: no payload: give -m <text>, -f <file>, -n \(empty\), -l \(lines of standard input\) or -s/],
      [["pub", "-t", "a", "-m", "b", "-n"], /^edgemq: only one payload source at a time, not -m, -n: give -m <text>/],
      [["pub", "-t", "a", "-m", "b", "-q", "3"], /^edgemq: -q must be one of 0, 1, 2, not "3"/],
      [["pub", "-t", "a", "-m", "b", "--url", "http://127.0.0.1:8080"], /^edgemq: --url "http:\/\/127\.0\.0\.1:8080" must start with mqtt:\/\/.*\(http:\/\/ is the admin API/],
      [["pub", "-t", "a", "-m", "b", "--credential", "not-a-jwt"], /^edgemq: --credential is not a credential/],
      [["pub", "-t", "a", "-m", "b", "--credential", "a.b.c", "--password", "p"], /^edgemq: give --credential or -P\/--password, not both/],
      [["sub"], /^edgemq: missing --topic <filter>/],
      [["sub", "-t", "a", "-x"], /^edgemq: unknown flag -x for "edgemq sub" \(its short flags: /],
      [["--json"], /^edgemq: no command given, only flags \(--json\)/],
      [["--json", "serve"], /^edgemq: put the server's flags after "serve"/],
    ];
    const results = await Promise.all(cases.map(([args]) => edgemq(args)));
    results.forEach((r, i) => {
      const [args, message] = cases[i]!;
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout, args.join(" ")).toBe("");
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
    });
  });

  it("asks whether the server runs with --admin-port when the admin API cannot be reached, with exit 1", async () => {
    const port = await freePort();
    const r = await edgemq(["namespace", "list"], { ...api, EDGEMQ_API_URL: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`edgemq: cannot reach the admin API at http://127.0.0.1:${port} (connection refused): is the server running with --admin-port ${port}? Check --url or EDGEMQ_API_URL\n`);
  });

  it("says when --url points at the MQTT port instead of the admin API", async () => {
    // Over WebSocket the first MQTT port is a bridge; the server's own TCP listener is in ports.tcp.
    const r = await edgemq(["namespace", "list"], { ...api, EDGEMQ_API_URL: `http://127.0.0.1:${server.ports.tcp}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^edgemq: the admin API at \S+ closed the connection without an HTTP answer: is that the MQTT port\? --url needs the admin API's port/);
  });

  it("shows the API's message for 401, 404 and 400 answers, with exit 1 and no stack trace", async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["namespace", "list"], { ...api, EDGEMQ_API_TOKEN: "emq_wrong" }, /^edgemq: the API token is not valid: .* \(HTTP 401; check --token or EDGEMQ_API_TOKEN\)\n$/],
      [["namespace", "describe", "nowhere"], api, /^edgemq: no namespace "nowhere" \(HTTP 404\)\n$/],
      [["broker", "describe", "nothing", "--ns", "nowhere"], api, /^edgemq: no namespace "nowhere" \(HTTP 404\)\n$/],
      [["token", "delete", "0000"], api, /^edgemq: no API token with id "0000" \(HTTP 404\)\n$/],
      [["namespace", "create", "Not_A_Label"], api, /^edgemq: namespace name "Not_A_Label" may contain only .* \(HTTP 400\)\n$/],
    ];
    const results = await Promise.all(cases.map(([args, env]) => edgemq(args, env)));
    results.forEach((r, i) => {
      const [args, , message] = cases[i]!;
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stdout, args.join(" ")).toBe("");
      expect(r.stderr, args.join(" ")).toMatch(message);
    });
  });

  it("reports an MQTT broker that cannot be reached, with exit 1", async () => {
    const port = await freePort();
    const r = await edgemq(["pub", "--url", `mqtt://127.0.0.1:${port}`, "-t", "a", "-m", "b"], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`edgemq: cannot reach the MQTT broker at mqtt://127.0.0.1:${port} (connection refused): is edgemq running, and is this its --port (or --ws-port)? Check --url, -h/-p or EDGEMQ_MQTT_URL\n`);
  });

  it("stops edgemq sub cleanly with exit 0 on Ctrl-C (SIGINT)", async () => {
    const sub = start(["sub", "--url", mqttUrl, "-t", "quiet/#"], {});
    await until(() => sub.stderr().includes("subscribed to quiet/#"), "the subscription");
    sub.child.kill("SIGINT");
    const r = await sub.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
  });

  it("ends edgemq sub with exit 1 when -C messages do not arrive within -W seconds", async () => {
    const r = await edgemq(["sub", "--url", mqttUrl, "-t", "nobody/publishes/here", "-C", "1", "-W", "1"], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/edgemq: timed out after 1 s with 0 of 1 message\n$/);
  });
});

describe("edgemq serve", () => {
  it("starts a server with the admin API that the other commands then manage, and stops on SIGTERM", async () => {
    const serve = start(["serve", "--port", "0", "--admin-port", "0", "--sys-interval", "0"]);
    let up: RegExpExecArray | null = null;
    await until(() => (up = /listening on tcp:\/\/127\.0\.0\.1:(\d+), http:\/\/127\.0\.0\.1:(\d+)/.exec(serve.stdout())) !== null, "the start-up line", 15_000);
    const [, mqttPort, adminPort] = up!;
    const env = { EDGEMQ_API_URL: `http://127.0.0.1:${adminPort}`, EDGEMQ_API_TOKEN: generatedAdminToken(serve.stdout()) };
    const created = await edgemq(["namespace", "create", "served"], env);
    expect(created.code).toBe(0);
    const pub = await edgemq(["pub", "--url", `mqtt://127.0.0.1:${mqttPort}`, "-t", "hello", "-m", "world"], {});
    expect(pub.code).toBe(0);

    serve.child.kill("SIGTERM");
    const ended = await serve.done;
    expect(ended.code).toBe(0);
    expect(ended.stdout).toContain("SIGTERM received, shutting down");
  });

  it("refuses a bad server flag with exit 2", async () => {
    const r = await edgemq(["serve", "--port", "not-a-port"], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('edgemq: --port needs a whole number, got "not-a-port"\n');
  });
});
