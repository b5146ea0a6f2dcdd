// A full disk as a client meets it: edgemq started with --data on a disk that
// fills up, then a lasting-session CONNECT. The disk is a 1.5 MB tmpfs when
// this process may mount one (root); otherwise every file the broker writes is
// capped at 1 MB with `ulimit -f` (writes past it fail with EFBIG instead of
// ENOSPC: a different errno, the same failed commit). The test's name says
// which one ran.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RawClient } from "../support/clients.ts";
import { startBroker } from "../support/server.ts";

const dir = mkdtempSync(join(tmpdir(), "edgemq-full-disk-"));
const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1536k,mode=0700", "tmpfs", dir], { stdio: "ignore" }).status === 0;
afterAll(() => {
  if (mounted) spawnSync("umount", [dir], { stdio: "ignore" });
  rmSync(dir, { recursive: true, force: true });
});

const disk = mounted ? "a 1.5 MB tmpfs" : "files capped at 1 MB by ulimit -f (no permission to mount a tmpfs)";

describe(`a data directory on a disk that fills up (${disk})`, () => {
  it("answers a lasting-session CONNECT with CONNACK 0x89 Server busy (3.1.1: return code 3) and logs the store error", async () => {
    const server = await startBroker(["--data", dir, "--sys-interval", "0"], {}, mounted ? {} : { fileSizeLimitKb: 1024 });
    try {
      const keeper = await RawClient.open(server.port);
      await keeper.connect("keeper", { properties: { sessionExpiryInterval: 3600 } });
      keeper.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "fill/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
      await keeper.next("suback");
      keeper.close();

      // Messages queued for the offline session fill the disk until a commit fails.
      const filler = await RawClient.open(server.port);
      await filler.connect("filler");
      const payload = new Uint8Array(20_000).fill(7);
      let acknowledged = 0;
      for (let i = 1; i <= 500 && !filler.closed; i++) {
        filler.send({ type: "publish", topic: `fill/${i}`, payload, qos: 1, retain: false, dup: false, packetId: i });
        await Promise.race([filler.next("puback", 5000).then(() => acknowledged++), filler.next("disconnect", 5000)]).catch(() => {});
      }
      expect(filler.closed).toBe(true);
      expect(acknowledged).toBeGreaterThan(0); // the disk had room at first
      expect(acknowledged).toBeLessThan(500);

      const late = await RawClient.open(server.port);
      expect(await late.connect("late", { properties: { sessionExpiryInterval: 600 } })).toMatchObject({
        type: "connack", sessionPresent: false, reasonCode: 0x89, properties: { reasonString: "the server could not save the session; try again later" },
      });
      await late.waitClosed();
      const old = await RawClient.open(server.port, 4);
      expect(await old.connect("late-311", { cleanStart: false })).toMatchObject({ type: "connack", sessionPresent: false, reasonCode: 3 });

      expect(server.output()).toMatch(/edgemq: store error: a (commit|write) failed .*nothing more is acknowledged: lasting-session CONNECTs get CONNACK 0x89/);
    } finally {
      await server.stop("SIGKILL");
    }
  }, 60_000);
});
