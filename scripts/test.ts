// `npm test`: type-check everything, run vitest, and end with one plain summary
// line (`tests: N passed, M failed`) that CI and people can read at a glance.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";

const results = ".vitest-results.json";
const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: "inherit" }).status ?? 1;

console.log("> type-checking (tsc)");
let failed = run("tsc", ["-p", "."]) !== 0;
failed = run("tsc", ["-p", "packages/core"]) !== 0 || failed;
if (failed) console.error("type-check failed: fix the errors above (tsc -p . and tsc -p packages/core)");

rmSync(results, { force: true });
const vitest = run("vitest", ["run", "--reporter=default", "--reporter=json", `--outputFile=${results}`, ...process.argv.slice(2)]);
let passed = 0, failedTests = 0;
if (existsSync(results)) {
  const report = JSON.parse(readFileSync(results, "utf8")) as { numPassedTests: number; numFailedTests: number };
  passed = report.numPassedTests;
  failedTests = report.numFailedTests;
}
console.log(`tests: ${passed} passed, ${failedTests} failed`);
process.exit(failed || vitest !== 0 || passed === 0 ? 1 : 0);
