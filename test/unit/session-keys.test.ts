// The sessions bucket's keys (issue 13): one per broker and client id, never
// two pairs on one key, always within KV's alphabet and a short subject.
import { describe, expect, it } from "vitest";
import { sessionKey } from "@edgemq/cluster-nats";

const KV_KEY = /^[-/_=.a-zA-Z0-9]+$/;

describe("session ownership keys", () => {
  it("gives every broker and client id pair its own key, whatever dots, wildcards or unicode they hold", () => {
    const pairs: [string, string][] = [["default", "a.b"], ["default.a", "b"], ["default", "a"], ["a.default", "x"], ["default", "*"], ["default", ">"], ["default", ""], ["default", "é"], ["default", "=C3=A9"], ["sensors.acme", "id"]];
    const keys = pairs.map(([b, c]) => sessionKey(b, c));
    expect(new Set(keys).size).toBe(pairs.length);
    for (const k of keys) {
      expect(k).toMatch(KV_KEY);
      expect(k.split(".")).toHaveLength(2);
    }
  });

  it("hashes a client id too long for a subject, so that two long ids still differ and the key stays short", () => {
    const long = "x".repeat(60_000);
    const k1 = sessionKey("default", long);
    const k2 = sessionKey("default", `${long}y`);
    expect(k1).not.toBe(k2);
    expect(k1.length).toBeLessThan(100);
    expect(k1).toMatch(KV_KEY);
    // No escaped client id can look like a hashed one.
    expect(sessionKey("default", "=H")).not.toMatch(/\.=H/);
  });
});
