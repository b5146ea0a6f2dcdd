// A child process for the lock test: opens the store in a data directory,
// prints `locked`, and holds it until killed.
// Usage: <runtime> lock-holder-child.ts <dataDir>
import process from "node:process";
import { openSqliteStore } from "../src/mod.ts";

openSqliteStore({ dataDir: process.argv[2]!, mode: "fsync", aliveIntervalMs: 0 });
process.stdout.write("locked\n");
setInterval(() => {}, 60_000);
