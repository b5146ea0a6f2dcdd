// Preloaded into a broker by bench/idle-memory.ts: on SIGUSR2 it collects
// garbage and prints its memory figures (and, with EDGEMQ_HEAP_SNAPSHOT set,
// writes a heap snapshot there, on Node), so that the bytes a connection
// keeps are measured, not the garbage its arrival left.
import { writeFileSync } from "node:fs";
import v8 from "node:v8";

const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };

process.on("SIGUSR2", () => {
  for (let i = 0; i < 3; i++) g.Bun ? g.Bun.gc(true) : g.gc?.();
  const snapshot = process.env.EDGEMQ_HEAP_SNAPSHOT;
  if (snapshot && !g.Bun) {
    const file = `${snapshot}.${Date.now()}.heapsnapshot`;
    v8.writeHeapSnapshot(file);
    writeFileSync(2, `SNAPSHOT ${file}\n`);
  }
  writeFileSync(2, `MEMORY ${JSON.stringify(process.memoryUsage())}\n`);
});
