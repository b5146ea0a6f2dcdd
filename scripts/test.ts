// `npm test`: type-check everything, run the whole suite, then run the
// scenario suite again against a server on every other runtime and transport
// (node, bun, deno × tcp, ws). It ends with one plain summary line,
// `tests: N passed, M failed`, that CI and people can read at a glance.
//
// EDGEMQ_TEST_MATRIX=node-tcp (or any comma list such as bun-ws,deno-tcp)
// limits the scenario runs while developing; CI runs them all.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";

const run = (cmd: string, args: string[], env: Record<string, string> = {}) =>
  spawnSync(cmd, args, { stdio: "inherit", env: { ...process.env, ...env } }).status ?? 1;

// First, the programs the suite runs besides Node, Bun and Deno (mosquitto's clients,
// Chromium, …): without one, one line says what is missing and that `npm run setup`
// installs it, instead of a red suite.
if (run("bash", ["scripts/setup.sh", "--check"]) !== 0) process.exit(1);

console.log("> type-checking (tsc)");
let failed = run("tsc", ["-p", "."]) !== 0;
failed = run("tsc", ["-p", "packages/core"]) !== 0 || failed;
if (failed) console.error("type-check failed: fix the errors above (tsc -p . and tsc -p packages/core)");

interface Report {
  numPassedTests: number;
  numFailedTests: number;
  testResults?: { name: string; status?: string; message?: string; assertionResults?: { status: string; fullName: string; failureMessages?: string[] }[] }[];
}

function vitest(label: string, args: string[], env: Record<string, string>): Report & { status: number; failures: string[] } {
  const out = `.vitest-results-${label}.json`;
  rmSync(out, { force: true });
  console.log(`\n> ${label}`);
  const status = run("vitest", ["run", "--reporter=dot", "--reporter=json", `--outputFile=${out}`, ...args], env);
  const report: Report = existsSync(out) ? JSON.parse(readFileSync(out, "utf8")) : { numPassedTests: 0, numFailedTests: 1 };
  rmSync(out, { force: true });
  // The names of failed tests, so a summary read on its own (CI keeps only the tail) says what broke.
  const failures: string[] = [];
  for (const file of report.testResults ?? []) {
    // A file that fails to load or whose setup throws has no failed test, but it failed: count and name it.
    if (file.status === "failed" && !(file.assertionResults ?? []).some((t) => t.status === "failed")) {
      report.numFailedTests++;
      failures.push(`${file.name.replace(process.cwd() + "/", "")}: the file failed to run: ${(file.message ?? "").split("\n")[0]!.slice(0, 200)}`);
    }
    for (const t of file.assertionResults ?? []) {
      if (t.status === "failed") failures.push(`${file.name.replace(process.cwd() + "/", "")} > ${t.fullName}: ${(t.failureMessages?.[0] ?? "").split("\n")[0]!.slice(0, 200)}`);
    }
  }
  return { ...report, status, failures };
}

const ALL = ["node-tcp", "node-ws", "bun-tcp", "bun-ws", "deno-tcp", "deno-ws"];
const wanted = (process.env.EDGEMQ_TEST_MATRIX ?? ALL.join(",")).split(",").map((s) => s.trim()).filter(Boolean);
const extra = process.argv.slice(2);

const results: [string, Report & { status: number; failures: string[] }][] = [];
// The first run is everything (unit, fuzz, differential, scenarios) with Node over TCP.
results.push(["all tests, scenarios on node over tcp", vitest("node-tcp", extra, {})]);
for (const combo of ALL.slice(1)) {
  if (!wanted.includes(combo)) continue;
  const [runtime, transport] = combo.split("-") as [string, string];
  // The durability scenarios kill and restart the broker under raw TCP clients; the
  // store sits below the transport, so they run once per runtime, in its TCP combination.
  const only = transport === "ws" ? ["--exclude", "test/scenarios/durability.test.ts"] : [];
  results.push([`scenarios on ${runtime} over ${transport}`, vitest(combo, ["test/scenarios", ...only, ...extra], { EDGEMQ_TEST_RUNTIME: runtime, EDGEMQ_TEST_TRANSPORT: transport })]);
}

let passed = 0, failedTests = 0;
console.log("");
for (const [label, r] of results) {
  console.log(`  ${label}: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  for (const f of r.failures) console.log(`    failed: ${f}`);
  passed += r.numPassedTests;
  failedTests += r.numFailedTests;
  if (r.status !== 0) failed = true;
}
console.log(`tests: ${passed} passed, ${failedTests} failed`);
process.exit(failed || failedTests > 0 || passed === 0 ? 1 : 0);
