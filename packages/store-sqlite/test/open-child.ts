// A child process that tries to open the store in a data directory and prints
// the error's name and message as JSON (or `opened`), for tests that need
// another user or another process. Usage: <runtime> open-child.ts <dataDir>
import process from "node:process";
import { openSqliteStore } from "../src/mod.ts";

try {
  await openSqliteStore({ dataDir: process.argv[2]!, aliveIntervalMs: 0 }).close();
  process.stdout.write(JSON.stringify({ opened: true }) + "\n");
} catch (e) {
  process.stdout.write(JSON.stringify({ name: (e as Error).name, message: (e as Error).message }) + "\n");
}
