// `edgemq broker scram-user add|list|remove` against a real server: the
// password from standard input (never a flag), the user able to log in with
// SCRAM, and gone once removed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";
import { generatedAdminToken, type RunningBroker, startBroker } from "../support/server.ts";

let server: RunningBroker;
let api: Record<string, string>;

beforeAll(async () => {
  server = await startBroker(["--admin-port", "0", "--sys-interval", "0"]);
  api = { EDGEMQ_API_URL: `http://127.0.0.1:${server.ports.http}`, EDGEMQ_API_TOKEN: generatedAdminToken(server.output()) };
  for (const args of [["namespace", "create", "acme"], ["broker", "create", "sensors", "--namespace", "acme"]]) expect((await runCli(args, api)).code).toBe(0);
}, 30_000);
afterAll(async () => {
  await server?.stop();
});

describe("edgemq broker scram-user", () => {
  it("adds a user with the password from standard input, lists it without keys, and removes it", async () => {
    const added = await runCli(["broker", "scram-user", "add", "sensors", "--namespace", "acme", "--username", "meter-7"], api, "correct horse battery\n");
    expect(added).toMatchObject({ code: 0, stdout: 'SCRAM user "meter-7" can log in to broker "sensors" in namespace "acme" with SCRAM-SHA-256 or SCRAM-SHA-512 (4096 iterations).\n' });
    const listed = await runCli(["broker", "scram-user", "list", "sensors", "--namespace", "acme", "--json"], api);
    expect(JSON.parse(listed.stdout)).toMatchObject([{ username: "meter-7", iterations: 4096 }]);
    expect(listed.stdout).not.toMatch(/key|salt|horse/);
    const removed = await runCli(["broker", "scram-user", "remove", "sensors", "--namespace", "acme", "--username", "meter-7", "--yes"], api);
    expect(removed).toMatchObject({ code: 0, stdout: 'Removed SCRAM user "meter-7" from broker "sensors" in namespace "acme".\n' });
    expect((await runCli(["broker", "scram-user", "list", "sensors", "--namespace", "acme"], api)).stdout).toBe('No SCRAM users on broker "sensors" in namespace "acme".\n');
  });

  it("refuses an empty standard input and a short password, saying what to do, with a non-zero exit", async () => {
    const empty = await runCli(["broker", "scram-user", "add", "sensors", "--namespace", "acme", "--username", "u"], api, "");
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toMatch(/no password on standard input: pipe it in/);
    const short = await runCli(["broker", "scram-user", "add", "sensors", "--namespace", "acme", "--username", "u"], api, "short\n");
    expect(short.code).not.toBe(0);
    expect(short.stderr).toMatch(/password.*8 to 1024 characters/);
  });
});
