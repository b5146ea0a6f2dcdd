// Unit tests of the retained message store: set, replace, clear by an empty
// payload, matching with + and #, the `$` rule, and expiry.
import { describe, expect, it } from "vitest";
import { type Message, RetainedStore, topicMatches } from "@edgemq/core";

const enc = new TextEncoder();

function msg(topic: string, payload = `p:${topic}`, expiresAt?: number): Message {
  return { topic, payload: enc.encode(payload), qos: 1, retain: true, properties: undefined, expiresAt, senderId: "s", receivedAt: 0 };
}

const topicsOf = (ms: Message[]) => ms.map((m) => m.topic).sort();

describe("the retained message store", () => {
  it("stores one message per topic and replaces it on a new one [MQTT-3.3.1-5]", () => {
    const store = new RetainedStore();
    store.set(msg("a/b", "one"));
    store.set(msg("a/c", "xy"));
    expect(store.size).toBe(2);
    expect(store.bytes).toBe(5);
    store.set(msg("a/b", "three"));
    expect(store.size).toBe(2);
    expect(store.bytes).toBe(7);
    expect(new TextDecoder().decode(store.get("a/b")!.payload)).toBe("three");
    expect(store.get("a")).toBeUndefined();
    expect(store.get("a/b/c")).toBeUndefined();
  });

  it("clears a topic's retained message on an empty payload and never stores the empty one [MQTT-3.3.1-6], [MQTT-3.3.1-7]", () => {
    const store = new RetainedStore();
    store.set(msg("a/b"));
    store.set(msg("a/b/c"));
    store.set(msg("a/b", ""));
    expect(store.get("a/b")).toBeUndefined();
    expect(store.get("a/b/c")).toBeDefined();
    expect(store.size).toBe(1);
    // clearing a topic that holds nothing is harmless, and an empty message is not stored
    store.set(msg("x/y", ""));
    expect(store.size).toBe(1);
    expect(store.get("x/y")).toBeUndefined();
    expect(store.match("#").map((m) => m.topic)).toEqual(["a/b/c"]);
    store.set(msg("a/b/c", ""));
    expect(store.size).toBe(0);
    expect(store.bytes).toBe(0);
    expect(store.all()).toEqual([]);
  });

  it("matches filters with + and # exactly as topicMatches does", () => {
    const topics = ["a", "a/b", "a/c", "a/b/c", "a/x/c", "b", "b/b", "/", "/a", "a/", "a//c", "$SYS/x", "$SYS", "$SYS/x/y", "x/$y"];
    const filters = ["#", "+", "+/+", "+/#", "a", "a/#", "a/+", "a/b", "a/b/#", "a/+/c", "+/b", "/+", "+/", "a//c", "a/+/+", "$SYS/#", "$SYS/+", "$SYS", "+/$y", "nothing/#"];
    const store = new RetainedStore();
    for (const t of topics) store.set(msg(t));
    for (const f of filters) {
      expect(topicsOf(store.match(f)), `filter ${f}`).toEqual(topics.filter((t) => topicMatches(f, t)).sort());
    }
  });

  it("lets a/# find the retained message on a itself, with or without deeper topics [MQTT-4.7.1-1]", () => {
    const leaf = new RetainedStore();
    leaf.set(msg("a"));
    expect(topicsOf(leaf.match("a/#"))).toEqual(["a"]);
    expect(topicsOf(leaf.match("+/#"))).toEqual(["a"]);
    leaf.set(msg("a/b"));
    expect(topicsOf(leaf.match("a/#"))).toEqual(["a", "a/b"]);
    const deep = new RetainedStore();
    deep.set(msg("a/b/c"));
    expect(topicsOf(deep.match("a/b/c/#"))).toEqual(["a/b/c"]);
    expect(topicsOf(deep.match("a/+/c/#"))).toEqual(["a/b/c"]);
  });

  it("hides $ topics from filters that start with a wildcard [MQTT-4.7.2-1]", () => {
    const store = new RetainedStore();
    store.set(msg("$SYS/broker/uptime"));
    store.set(msg("$share"));
    store.set(msg("a/$b"));
    expect(topicsOf(store.match("#"))).toEqual(["a/$b"]);
    expect(topicsOf(store.match("+"))).toEqual([]);
    expect(topicsOf(store.match("+/broker/uptime"))).toEqual([]);
    expect(topicsOf(store.match("$SYS/#"))).toEqual(["$SYS/broker/uptime"]);
    expect(topicsOf(store.match("$SYS/+/uptime"))).toEqual(["$SYS/broker/uptime"]);
    expect(topicsOf(store.match("a/+"))).toEqual(["a/$b"]);
  });

  it("drops messages whose expiry has passed, and keeps the others [MQTT-3.3.2-5]", () => {
    const store = new RetainedStore();
    store.set(msg("a/1", "x", 1000));
    store.set(msg("a/2", "x", 2000));
    store.set(msg("a/3", "x"));
    store.set(msg("a/1/deeper", "x", 5000));
    expect(store.expire(999)).toBe(0);
    expect(store.expire(1000)).toBe(1);
    expect(topicsOf(store.match("a/#"))).toEqual(["a/1/deeper", "a/2", "a/3"]);
    expect(store.expire(4000)).toBe(1);
    expect(topicsOf(store.match("a/#"))).toEqual(["a/1/deeper", "a/3"]);
    expect(store.size).toBe(2);
    expect(store.bytes).toBe(2);
    expect(store.expire(10_000)).toBe(1);
    expect(topicsOf(store.all())).toEqual(["a/3"]);
  });

  it("keeps intermediate levels that still lead to messages when a topic is cleared", () => {
    const store = new RetainedStore();
    store.set(msg("a/b"));
    store.set(msg("a/b/c/d"));
    store.set(msg("a/b/c/d", ""));
    expect(topicsOf(store.match("a/#"))).toEqual(["a/b"]);
    store.set(msg("a/b", ""));
    expect(topicsOf(store.match("#"))).toEqual([]);
    store.set(msg("a/b/c"));
    expect(topicsOf(store.match("a/+/c"))).toEqual(["a/b/c"]);
  });
});

describe("the retained store without recursion", () => {
  it("returns matches in tree order: a level's own message before the ones below it, siblings in the order first stored", () => {
    const store = new RetainedStore();
    for (const t of ["a/b/c", "a", "a/x/c", "b/b/c", "$SYS/x", "a/b", "a/b/c/d", "z/b/c"]) store.set(msg(t));
    const order = (filter: string) => store.match(filter).map((m) => m.topic);
    expect(order("#")).toEqual(["a", "a/b", "a/b/c", "a/b/c/d", "a/x/c", "b/b/c", "z/b/c"]);
    expect(order("+/b/c")).toEqual(["a/b/c", "b/b/c", "z/b/c"]);
    expect(order("+/+/+")).toEqual(["a/b/c", "a/x/c", "b/b/c", "z/b/c"]);
    expect(order("a/+/#")).toEqual(["a/b", "a/b/c", "a/b/c/d", "a/x/c"]);
    expect(store.all().map((m) => m.topic)).toEqual(["a", "a/b", "a/b/c", "a/b/c/d", "a/x/c", "b/b/c", "$SYS/x", "z/b/c"]);
  });

  it("stores, matches, lists and expires a topic 100,000 levels deep without overflowing the stack", () => {
    const depth = 100_000;
    const store = new RetainedStore();
    const deep = Array(depth).fill("a").join("/");
    store.set(msg(deep, "deep", 5));
    store.set(msg("a", "shallow"));
    expect(topicsOf(store.match(Array(depth).fill("+").join("/")))).toEqual([deep]);
    expect(topicsOf(store.match("#"))).toEqual(["a", deep].sort());
    expect(topicsOf(store.match(Array(depth - 1).fill("+").join("/") + "/#"))).toEqual([deep]);
    expect(topicsOf(store.all())).toEqual(["a", deep].sort());
    expect(store.expire(10)).toBe(1);
    expect(topicsOf(store.all())).toEqual(["a"]);
  });
});
