// On one CPU the Node server restarts itself (same process id) with V8's
// garbage collection kept on the main thread (adapters/node/gc-flags.js);
// with two CPUs, or flags of its own, it runs as started.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error gc-flags.js is plain JavaScript on purpose (run before anything else) and has no types.
import { gcFlags } from "../../adapters/node/gc-flags.js";
import { startBroker } from "../support/server.ts";

const ONE_CPU = ["--no-parallel-scavenge", "--no-parallel-marking", "--no-parallel-compaction"];
const argsOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");

describe("the garbage collector's flags on Node", () => {
  it("are the one-CPU ones only with one CPU and none given on the command line", () => {
    expect(gcFlags(1, [])).toEqual(ONE_CPU);
    expect(gcFlags(2, [])).toEqual([]);
    expect(gcFlags(1, ["--parallel-scavenge"])).toEqual([]);
    expect(gcFlags(1, ["--single-threaded-gc"])).toEqual([]);
  });

  it("are taken by a server started on one CPU (taskset), which keeps its process id and serves", async () => {
    const broker = await startBroker(["--sys-interval", "0"], {}, { runtime: "node", command: { argv: ["taskset", "-c", "0", "node_modules/.bin/node", "adapters/node"], cwd: process.cwd() } });
    try {
      expect(argsOf(broker.process.pid!)).toEqual(expect.arrayContaining(ONE_CPU));
    } finally {
      await broker.stop();
    }
  });

  it("are not given to a server with two CPUs", async () => {
    const broker = await startBroker(["--sys-interval", "0"], {}, { runtime: "node" });
    try {
      expect(argsOf(broker.process.pid!).filter((a) => ONE_CPU.includes(a))).toEqual([]);
    } finally {
      await broker.stop();
    }
  });
});
