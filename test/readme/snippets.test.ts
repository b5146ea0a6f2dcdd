// The README's TypeScript snippets, run as written (only the port changes)
// with the project's Node against a real server: the SCRAM login and the JWT
// refresh of "Enhanced authentication".
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Admin } from "../support/admin-api.ts";
import { generatedAdminToken, type RunningBroker, startBroker } from "../support/server.ts";

const ROOT = join(import.meta.dirname, "../..");
// Inside the clone, so that "mqtt" and "@edgemq/credentials" resolve as they do for a user of it.
const SCRATCH = join(ROOT, ".scratch-snippets");

/** The ```ts block after `<!-- readme-snippet: name -->` in the README. */
function snippet(name: string): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const m = new RegExp(`<!-- readme-snippet: ${name} -->\\n\`\`\`ts\\n([\\s\\S]*?)\\n\`\`\``).exec(readme);
  if (m === null) throw new Error(`README.md has no snippet marked ${name}`);
  return m[1]!;
}

// Runs a snippet with the port replaced; resolves to its exit code and output (bounded to 20 s).
function runSnippet(name: string, port: number, env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  mkdirSync(SCRATCH, { recursive: true });
  const file = join(SCRATCH, `${name}.ts`);
  writeFileSync(file, snippet(name).replaceAll("127.0.0.1:1883", `127.0.0.1:${port}`));
  const child = spawn(join(ROOT, "node_modules/.bin/node"), [file], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const kill = setTimeout(() => child.kill("SIGKILL"), 20_000);
  return new Promise((resolve) => child.once("close", (code) => {
    clearTimeout(kill);
    resolve({ code, output });
  }));
}

const servers: RunningBroker[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
  rmSync(SCRATCH, { recursive: true, force: true });
});

describe("the README's enhanced authentication snippets", () => {
  it("log in with SCRAM-SHA-256 against npm start -- --user alice:wonderland, the server proving itself", async () => {
    const server = await startBroker(["--user", "alice:wonderland", "--sys-interval", "0"]);
    servers.push(server);
    const r = await runSnippet("scram", server.port);
    expect(r.output).toBe("logged in; the server proved it knows the password: true\n");
    expect(r.code).toBe(0);
  }, 30_000);

  it("renew a JWT connection with a fresh credential by AUTH 0x19", async () => {
    const server = await startBroker(["--admin-port", "0", "--sys-interval", "0"]);
    servers.push(server);
    const admin = new Admin(server, generatedAdminToken(server.output()));
    await admin.ok("POST", "/namespaces", { name: "acme" });
    await admin.ok("POST", "/namespaces/acme/brokers", { name: "sensors" });
    const r = await runSnippet("jwt-refresh", server.port, { TOKEN: await admin.credential("acme", "sensors", "dev-1"), FRESH: await admin.credential("acme", "sensors", "dev-1") });
    expect(r.output).toBe("re-authenticated: true\n");
    expect(r.code).toBe(0);
  }, 30_000);
});
