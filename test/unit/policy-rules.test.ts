// Unit tests of the policy engine's pure parts: topic matching, filter
// coverage, and access rules as data (who, which topics, which rights).
import { describe, expect, it } from "vitest";
import {
  type AccessRules, type ClientInfo, evaluateRules, filterCovers, HookChain, type Message, rulesHook,
  type SubscriptionEntry, topicMatches,
} from "@edgemq/core";

function client(clientId: string, username?: string): ClientInfo {
  return { clientId, username, protocolVersion: 5, conn: { remoteAddress: "127.0.0.1", remotePort: 1, transport: "memory" }, attributes: {} };
}

function message(topic: string): Message {
  return { topic, payload: new Uint8Array([1]), qos: 0, retain: false, properties: undefined, expiresAt: undefined, senderId: "x", receivedAt: 0 };
}

function subscription(topicFilter: string): SubscriptionEntry {
  const shared = topicFilter.startsWith("$share/");
  const rest = shared ? topicFilter.slice(topicFilter.indexOf("/", 7) + 1) : topicFilter;
  return {
    clientId: "c", topicFilter, filter: rest, shareGroup: shared ? topicFilter.slice(7, topicFilter.indexOf("/", 7)) : undefined,
    qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionIdentifier: undefined,
  };
}

describe("topicMatches: does a topic name match a filter", () => {
  it.each([
    ["a/b", "a/b", true],
    ["a/b", "a/c", false],
    ["a/b", "a/b/c", false],
    ["a/b/c", "a/b", false],
    ["a/+", "a/b", true],
    ["a/+", "a/b/c", false],
    ["a/+", "a", false],
    ["a/+", "a/", true],
    ["+/b", "a/b", true],
    ["+", "a", true],
    ["+", "a/b", false],
    ["+", "/a", false],
    ["+/+", "/a", true],
    ["a/+/c", "a/x/c", true],
    ["a/+/c", "a/x/d", false],
    ["a/#", "a", true],
    ["a/#", "a/b", true],
    ["a/#", "a/b/c/d", true],
    ["a/#", "ab", false],
    ["a/#", "b/a", false],
    ["#", "a", true],
    ["#", "a/b/c", true],
    ["#", "/", true],
    ["a/+/#", "a/b", true],
    ["a/+/#", "a", false],
    ["A/b", "a/b", false],
  ])("filter %j against topic %j is %s", (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it("never lets a filter starting with # or + match a topic starting with $ [MQTT-4.7.2-1]", () => {
    expect(topicMatches("#", "$SYS/broker/uptime")).toBe(false);
    expect(topicMatches("+/broker/uptime", "$SYS/broker/uptime")).toBe(false);
    expect(topicMatches("+/#", "$SYS/x")).toBe(false);
    expect(topicMatches("+", "$x")).toBe(false);
    expect(topicMatches("$SYS/#", "$SYS/broker/uptime")).toBe(true);
    expect(topicMatches("$SYS/+/uptime", "$SYS/broker/uptime")).toBe(true);
    // a `$` later in the topic is an ordinary character
    expect(topicMatches("#", "a/$b")).toBe(true);
    expect(topicMatches("a/+", "a/$b")).toBe(true);
  });
});

describe("filterCovers: does every topic one filter matches also match another", () => {
  it.each([
    ["a/#", "a/#", true],
    ["a/#", "a", true],
    ["a/#", "a/b", true],
    ["a/#", "a/+", true],
    ["a/#", "a/+/c", true],
    ["a/#", "a/b/#", true],
    ["a/+", "a/b", true],
    ["a/+", "a/+", true],
    ["a/b", "a/b", true],
    ["#", "a/#", true],
    ["#", "#", true],
    ["#", "+/x", true],
    ["+/x", "a/x", true],
    ["+/x", "+/x", true],
    ["+/#", "a/b/c", true],
  ])("%j covers %j", (outer, inner, expected) => {
    expect(filterCovers(outer, inner)).toBe(expected);
  });

  it.each([
    ["a/#", "#"],
    ["a/#", "+/x"],
    ["a/#", "+"],
    ["a/#", "+/#"],
    ["a/#", "$SYS/#"],
    ["a/#", "b/x"],
    ["a/#", "ab"],
    ["a/+", "a/#"],
    ["a/+", "a/b/c"],
    ["a/+", "a"],
    ["a/b", "a/+"],
    ["a/b", "a/#"],
    ["a/b", "a/b/c"],
    ["a/b/c", "a/b"],
    ["+/x", "+/y"],
    ["+/x", "#"],
    ["a/+/c", "a/+/#"],
  ])("%j does not cover %j", (outer, inner) => {
    expect(filterCovers(outer, inner)).toBe(false);
  });

  it("never lets # or + cover a filter that reaches $ topics [MQTT-4.7.2-1]", () => {
    expect(filterCovers("#", "$SYS/#")).toBe(false);
    expect(filterCovers("#", "$SYS/broker/uptime")).toBe(false);
    expect(filterCovers("+/#", "$SYS/#")).toBe(false);
    expect(filterCovers("+/broker/uptime", "$SYS/broker/uptime")).toBe(false);
    expect(filterCovers("$SYS/#", "$SYS/broker/+")).toBe(true);
    expect(filterCovers("$SYS/#", "#")).toBe(false);
  });

  it("agrees with topicMatches: whatever a covered filter matches, the covering filter matches too", () => {
    const filters = ["#", "+", "+/+", "+/#", "a", "a/#", "a/+", "a/b", "a/b/#", "a/+/c", "+/b", "+/b/#", "$SYS/#", "$SYS/+", "b/#"];
    const topics = ["a", "b", "a/b", "a/c", "b/b", "a/b/c", "a/x/c", "x/b/c", "/", "/b", "a/", "$SYS/x", "$SYS/x/y", "$SYS", "b/x"];
    for (const outer of filters) {
      for (const inner of filters) {
        if (!filterCovers(outer, inner)) continue;
        for (const t of topics) {
          if (topicMatches(inner, t)) expect(topicMatches(outer, t), `${outer} covers ${inner} but misses ${t}`).toBe(true);
        }
      }
    }
  });
});

describe("evaluateRules: access rules as data", () => {
  const rules: AccessRules = {
    rules: [
      { username: "admin", topics: ["#", "$SYS/#"], access: "all", effect: "allow" },
      { clientId: "sensor-*", topics: ["sensors/%c/#"], access: "publish", effect: "allow" },
      { username: "*", topics: ["users/%u/#"], access: "all", effect: "allow" },
      { topics: ["secret/#"], access: "all", effect: "deny" },
      { topics: ["public/#"], access: "subscribe", effect: "allow" },
      { clientId: "reader", topics: ["a/#"], access: "subscribe", effect: "allow" },
    ],
    defaultEffect: "deny",
  };

  it("lets a client id pattern with a trailing * match a prefix, and substitutes %c", () => {
    expect(evaluateRules(rules, client("sensor-7"), "publish", "sensors/sensor-7/temp", false)).toBe("allow");
    expect(evaluateRules(rules, client("sensor-7"), "publish", "sensors/sensor-8/temp", false)).toBe("deny");
    expect(evaluateRules(rules, client("actuator-1"), "publish", "sensors/actuator-1/temp", false)).toBe("deny");
    // the rule grants publish only, not subscribe
    expect(evaluateRules(rules, client("sensor-7"), "subscribe", "sensors/sensor-7/#", true)).toBe("deny");
  });

  it("substitutes %u with the user name, and a %u topic never applies to a client without one", () => {
    expect(evaluateRules(rules, client("c1", "alice"), "publish", "users/alice/inbox", false)).toBe("allow");
    expect(evaluateRules(rules, client("c1", "alice"), "subscribe", "users/alice/#", true)).toBe("allow");
    expect(evaluateRules(rules, client("c1", "alice"), "subscribe", "users/bob/#", true)).toBe("deny");
    expect(evaluateRules(rules, client("c1", "alice"), "subscribe", "users/+/#", true)).toBe("deny");
    expect(evaluateRules(rules, client("c1"), "publish", "users//inbox", false)).toBe("deny");
    expect(evaluateRules(rules, client("c1"), "publish", "public/x", false)).toBe("deny");
    expect(evaluateRules(rules, client("c1", "admin"), "publish", "anything/at/all", false)).toBe("allow");
    expect(evaluateRules(rules, client("c1", "administrator"), "publish", "anything/at/all", false)).toBe("deny");
  });

  it("does not let a client id or user name holding + or # widen a %c or %u grant", () => {
    // `users/%u/#` with the user name "#" must not become `users/#/#`, which matches everything under users/
    expect(evaluateRules(rules, client("c1", "#"), "publish", "users/bob/inbox", false)).toBe("deny");
    expect(evaluateRules(rules, client("c1", "+"), "publish", "users/bob/inbox", false)).toBe("deny");
    expect(evaluateRules(rules, client("c1", "+"), "subscribe", "users/+/#", true)).toBe("deny");
    expect(evaluateRules(rules, client("sensor-+"), "publish", "sensors/sensor-+/x", false)).toBe("deny");
    expect(evaluateRules(rules, client("sensor-#"), "publish", "sensors/sensor-1/x", false)).toBe("deny");
    // a deny rule whose name cannot be substituted safely applies, to any topic
    const guarded: AccessRules = { rules: [{ topics: ["inbox/%c"], access: "all", effect: "deny" }, { topics: ["#"], access: "all", effect: "allow" }], defaultEffect: "deny" };
    expect(evaluateRules(guarded, client("ok"), "publish", "inbox/ok", false)).toBe("deny");
    expect(evaluateRules(guarded, client("ok"), "publish", "inbox/other", false)).toBe("allow");
    expect(evaluateRules(guarded, client("+"), "publish", "inbox/other", false)).toBe("deny");
    expect(evaluateRules(guarded, client("#"), "subscribe", "elsewhere/#", true)).toBe("deny");
  });

  it("applies the first matching rule, in order, and the default when none matches", () => {
    // admin's allow comes before the deny on secret/#
    expect(evaluateRules(rules, client("c", "admin"), "subscribe", "secret/#", true)).toBe("allow");
    expect(evaluateRules(rules, client("c", "alice"), "subscribe", "secret/#", true)).toBe("deny");
    expect(evaluateRules(rules, client("c", "alice"), "subscribe", "public/news", true)).toBe("allow");
    expect(evaluateRules(rules, client("c", "alice"), "publish", "public/news", false)).toBe("deny");
    expect(evaluateRules(rules, client("c", "alice"), "publish", "nowhere", false)).toBe("deny");
    const open: AccessRules = { rules: [{ topics: ["locked/#"], access: "all", effect: "deny" }], defaultEffect: "allow" };
    expect(evaluateRules(open, client("c"), "publish", "anything", false)).toBe("allow");
    expect(evaluateRules(open, client("c"), "publish", "locked/door", false)).toBe("deny");
    const reversed: AccessRules = {
      rules: [{ topics: ["a/b"], access: "all", effect: "deny" }, { topics: ["a/#"], access: "all", effect: "allow" }],
      defaultEffect: "deny",
    };
    expect(evaluateRules(reversed, client("c"), "publish", "a/b", false)).toBe("deny");
    expect(evaluateRules(reversed, client("c"), "publish", "a/c", false)).toBe("allow");
  });

  it("does not let a subscription read outside its grant through # or +", () => {
    const reader = client("reader");
    expect(evaluateRules(rules, reader, "subscribe", "a/#", true)).toBe("allow");
    expect(evaluateRules(rules, reader, "subscribe", "a/b/+", true)).toBe("allow");
    expect(evaluateRules(rules, reader, "subscribe", "a", true)).toBe("allow");
    expect(evaluateRules(rules, reader, "subscribe", "#", true)).toBe("deny");
    expect(evaluateRules(rules, reader, "subscribe", "+/x", true)).toBe("deny");
    expect(evaluateRules(rules, reader, "subscribe", "+/#", true)).toBe("deny");
    expect(evaluateRules(rules, reader, "subscribe", "$SYS/#", true)).toBe("deny");
    expect(evaluateRules(rules, reader, "subscribe", "b/x", true)).toBe("deny");
  });

  it("denies a subscription that overlaps a deny rule anywhere, even when it also reaches allowed topics", () => {
    const r: AccessRules = { rules: [{ topics: ["a/secret/#"], access: "subscribe", effect: "deny" }, { topics: ["a/#"], access: "subscribe", effect: "allow" }], defaultEffect: "deny" };
    expect(evaluateRules(r, client("c"), "subscribe", "a/#", true)).toBe("deny");
    expect(evaluateRules(r, client("c"), "subscribe", "a/+/x", true)).toBe("deny");
    expect(evaluateRules(r, client("c"), "subscribe", "a/public/#", true)).toBe("allow");
    expect(evaluateRules(r, client("c"), "subscribe", "a/+", true)).toBe("deny"); // a/+ matches a/secret
    expect(evaluateRules(r, client("c"), "subscribe", "a/x/+", true)).toBe("allow");
  });

  it("does not let a deny rule on $ topics block a wildcard subscription that cannot reach them [MQTT-4.7.2-1]", () => {
    const r: AccessRules = { rules: [{ topics: ["$SYS/#"], access: "subscribe", effect: "deny" }], defaultEffect: "allow" };
    expect(evaluateRules(r, client("c"), "subscribe", "#", true)).toBe("allow");
    expect(evaluateRules(r, client("c"), "subscribe", "+/broker/#", true)).toBe("allow");
    expect(evaluateRules(r, client("c"), "subscribe", "$SYS/broker/+", true)).toBe("deny");
    expect(evaluateRules(r, client("c"), "subscribe", "$SYS/#", true)).toBe("deny");
  });
});

describe("rulesHook: access rules checked at subscribe, publish and delivery", () => {
  const rules: AccessRules = {
    rules: [{ clientId: "reader", topics: ["a/#"], access: "subscribe", effect: "allow" }, { clientId: "writer", topics: ["a/#"], access: "publish", effect: "allow" }],
    defaultEffect: "deny",
  };
  const chain = new HookChain();
  chain.use(rulesHook(rules));

  it("checks the filter of a shared subscription, so $share/g/# does not read beyond the grant", () => {
    const reader = client("reader");
    expect(chain.authorizeSubscribe(reader, subscription("$share/g/a/#"))).toEqual({ allowed: true });
    expect(chain.authorizeSubscribe(reader, subscription("$share/g/#"))).toMatchObject({ allowed: false, reasonCode: 0x87 });
    expect(chain.authorizeSubscribe(reader, subscription("$share/g/b/#"))).toMatchObject({ allowed: false, reasonCode: 0x87 });
    expect(chain.authorizeSubscribe(reader, subscription("$share/g/+/x"))).toMatchObject({ allowed: false, reasonCode: 0x87 });
    expect(chain.authorizeSubscribe(reader, subscription("#"))).toMatchObject({ allowed: false, reasonCode: 0x87 });
  });

  it("answers publish with 0x87 (Not authorized) outside the grant", () => {
    expect(chain.authorizePublish(client("writer"), message("a/x"))).toEqual({ allowed: true });
    expect(chain.authorizePublish(client("writer"), message("b/x"))).toMatchObject({ allowed: false, reasonCode: 0x87 });
    expect(chain.authorizePublish(client("reader"), message("a/x"))).toMatchObject({ allowed: false, reasonCode: 0x87 });
  });

  it("checks each delivery against the receiving client's subscribe rights", () => {
    expect(chain.checksDelivery).toBe(true);
    expect(chain.authorizeDelivery(client("reader"), message("a/x"))).toBe(true);
    expect(chain.authorizeDelivery(client("reader"), message("b/x"))).toBe(false);
    expect(chain.authorizeDelivery(client("writer"), message("a/x"))).toBe(false);
  });

  it("defers to the next hook when the rules allow, so a later hook can still deny", () => {
    const both = new HookChain();
    both.use(rulesHook(rules));
    both.use({ name: "no-a-b", authorizePublish: (_c, m) => (m.topic === "a/b" ? { deny: 0x97 } : "next") });
    expect(both.authorizePublish(client("writer"), message("a/c"))).toEqual({ allowed: true });
    expect(both.authorizePublish(client("writer"), message("a/b"))).toMatchObject({ allowed: false, reasonCode: 0x97 });
    // a denial by the rules stops the chain
    expect(both.authorizePublish(client("writer"), message("b/b"))).toMatchObject({ allowed: false, reasonCode: 0x87 });
  });
});
