// SCRAM users of tenant brokers: kept in the broker's record as salt,
// iterations, StoredKey and ServerKey (never the password), through a
// restart of a durable store, and used by the tenant broker's SCRAM hook.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Packet, ReasonCode } from "@edgemq/core";
import { openSqliteStore } from "@edgemq/store-sqlite";
import { Registry, TenancyError } from "@edgemq/tenancy";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryPeer } from "../support/memory-peer.ts";
import { ScramClient } from "../support/scram-client.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function next(peer: MemoryPeer): Promise<Packet[]> {
  for (let i = 0; i < 100; i++) {
    const got = peer.packets();
    if (got.length > 0) return got;
    await new Promise((r) => setTimeout(r, 5));
  }
  return [];
}

// A full SCRAM login to a tenant broker; returns the CONNACK's reason code and whether the server proved itself.
async function scramLogin(registry: Registry, user: string, password: string): Promise<{ reasonCode: number; serverProved: boolean }> {
  const client = new ScramClient("SCRAM-SHA-512", user, password);
  const peer = new MemoryPeer(registry.broker("acme", "sensors"));
  peer.connect("dev-9", { properties: { authenticationMethod: "SCRAM-SHA-512", authenticationData: client.first() } });
  const [challenge] = await next(peer);
  const data = (challenge as Extract<Packet, { type: "auth" }>).properties!.authenticationData!;
  peer.send({ type: "auth", reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: "SCRAM-SHA-512", authenticationData: await client.final(data) } });
  const [connack] = await next(peer);
  const c = connack as Extract<Packet, { type: "connack" }>;
  return { reasonCode: c.reasonCode, serverProved: await client.verify(c.properties?.authenticationData) };
}

describe("a tenant broker's SCRAM users", () => {
  it("log in once added, are refused once removed, and keep working across a restart of the SQLite store", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgemq-scram-"));
    dirs.push(dir);
    const storage = openSqliteStore({ dataDir: dir, aliveIntervalMs: 0 });
    const registry = await Registry.open({ store: storage.tenancy });
    await registry.createNamespace({ name: "acme" });
    await registry.createBroker("acme", { name: "sensors" });
    const added = await registry.putScramUser("acme", "sensors", "meter-7", "correct horse battery");
    expect(added).toMatchObject({ username: "meter-7", iterations: 4096, mechanisms: ["SCRAM-SHA-256", "SCRAM-SHA-512"] });
    expect(await scramLogin(registry, "meter-7", "correct horse battery")).toEqual({ reasonCode: 0, serverProved: true });
    expect((await scramLogin(registry, "meter-7", "wrong horse battery")).reasonCode).toBe(ReasonCode.NotAuthorized);
    // Only derived keys are stored: the password appears nowhere in the record.
    expect(JSON.stringify(storage.tenancy.load())).not.toContain("correct horse");
    await registry.close();
    await storage.close();

    const again = openSqliteStore({ dataDir: dir, aliveIntervalMs: 0 });
    const restored = await Registry.open({ store: again.tenancy });
    expect(restored.scramUsers("acme", "sensors").map((u) => u.username)).toEqual(["meter-7"]);
    expect(await scramLogin(restored, "meter-7", "correct horse battery")).toEqual({ reasonCode: 0, serverProved: true });
    await restored.deleteScramUser("acme", "sensors", "meter-7");
    expect((await scramLogin(restored, "meter-7", "correct horse battery")).reasonCode).toBe(ReasonCode.NotAuthorized);
    await restored.close();
    await again.close();
  });

  it("refuse a short password, too few iterations and an unknown user to remove, each naming the rule", async () => {
    const registry = await Registry.open();
    await registry.createNamespace({ name: "acme" });
    await registry.createBroker("acme", { name: "sensors" });
    await expect(registry.putScramUser("acme", "sensors", "u", "short")).rejects.toThrow(/password must be 8 to 1024 characters/);
    await expect(registry.putScramUser("acme", "sensors", "u", "long enough", 100)).rejects.toThrow(/from 4096/);
    await expect(registry.deleteScramUser("acme", "sensors", "nobody")).rejects.toBeInstanceOf(TenancyError);
  });
});
