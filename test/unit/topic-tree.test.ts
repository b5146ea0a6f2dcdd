// Unit tests of the subscription tree: add, replace, remove, matching with
// wildcards, the `$` rule, share groups and pruning of empty branches.
import { describe, expect, it } from "vitest";
import { parseSharedFilter, type SubscriptionEntry, topicMatches, TopicTree } from "@edgemq/core";

function entry(clientId: string, topicFilter: string, extra: Partial<SubscriptionEntry> = {}): SubscriptionEntry {
  const { shareGroup, filter } = parseSharedFilter(topicFilter);
  return { clientId, topicFilter, filter, shareGroup, qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionIdentifier: undefined, ...extra };
}

/** Matches a topic; returns "client:filter" for plain subscriptions and "group:filter[members]" for share groups, sorted. */
function match(tree: TopicTree, topic: string): string[] {
  const out: string[] = [];
  tree.match(
    topic,
    (e) => out.push(`${e.clientId}:${e.topicFilter}`),
    (group, members) => out.push(`$${group}:${[...members.values()][0]!.filter}[${[...members.keys()].sort().join(",")}]`),
  );
  return out.sort();
}

describe("parseSharedFilter", () => {
  it("splits $share/{group}/{filter} and leaves a plain filter alone", () => {
    expect(parseSharedFilter("$share/g/a/#")).toEqual({ shareGroup: "g", filter: "a/#" });
    expect(parseSharedFilter("$share/group-1/#")).toEqual({ shareGroup: "group-1", filter: "#" });
    expect(parseSharedFilter("a/#")).toEqual({ shareGroup: undefined, filter: "a/#" });
    expect(parseSharedFilter("$SYS/#")).toEqual({ shareGroup: undefined, filter: "$SYS/#" });
    expect(parseSharedFilter("$sharex/g/a")).toEqual({ shareGroup: undefined, filter: "$sharex/g/a" });
  });
});

describe("the subscription tree", () => {
  it("adds subscriptions, counts them, and replaces one with the same client and filter [MQTT-3.8.4-3]", () => {
    const tree = new TopicTree();
    expect(tree.add(entry("c1", "a/b", { qos: 0 }))).toBe(false);
    expect(tree.add(entry("c2", "a/b"))).toBe(false);
    expect(tree.size).toBe(2);
    expect(tree.add(entry("c1", "a/b", { qos: 2 }))).toBe(true);
    expect(tree.size).toBe(2);
    const seen: SubscriptionEntry[] = [];
    tree.match("a/b", (e) => seen.push(e), () => {});
    expect(seen.find((e) => e.clientId === "c1")!.qos).toBe(2);
  });

  it("matches exact, + and # filters as topicMatches does", () => {
    const filters = ["a/b", "a/+", "+/b", "a/#", "#", "+", "+/+", "a/b/c", "a/+/c", "a/b/#", "+/#", "/", "/+", "+/", "a//c", "$SYS/#", "$SYS/+", "$SYS"];
    const topics = ["a", "a/b", "a/c", "b/b", "a/b/c", "a/x/c", "a/b/c/d", "/", "/a", "a/", "a//c", "$SYS", "$SYS/x", "$SYS/x/y", "x"];
    const tree = new TopicTree();
    for (const [i, f] of filters.entries()) tree.add(entry(`c${i}`, f));
    for (const t of topics) {
      const expected = filters.flatMap((f, i) => (topicMatches(f, t) ? [`c${i}:${f}`] : [])).sort();
      expect(match(tree, t), `topic ${t}`).toEqual(expected);
    }
  });

  it("lets # match its parent level: a/# matches a [MQTT-4.7.1-1]", () => {
    const tree = new TopicTree();
    tree.add(entry("c", "a/#"));
    tree.add(entry("d", "a/+/#"));
    expect(match(tree, "a")).toEqual(["c:a/#"]);
    expect(match(tree, "a/b")).toEqual(["c:a/#", "d:a/+/#"]);
    expect(match(tree, "ab")).toEqual([]);
  });

  it("never matches a filter starting with # or + to a topic starting with $ [MQTT-4.7.2-1]", () => {
    const tree = new TopicTree();
    tree.add(entry("all", "#"));
    tree.add(entry("plus", "+/broker/uptime"));
    tree.add(entry("plushash", "+/#"));
    tree.add(entry("sys", "$SYS/#"));
    tree.add(entry("shared", "$share/g/#"));
    expect(match(tree, "$SYS/broker/uptime")).toEqual(["sys:$SYS/#"]);
    expect(match(tree, "$other")).toEqual([]);
    expect(match(tree, "x/broker/uptime")).toEqual(["$g:#[shared]", "all:#", "plus:+/broker/uptime", "plushash:+/#"]);
    // a `$` that does not start the topic is an ordinary character
    expect(match(tree, "a/$SYS")).toEqual(["$g:#[shared]", "all:#", "plushash:+/#"]);
  });

  it("visits a share group once per matching filter, with all its members, and keeps plain subscriptions apart", () => {
    const tree = new TopicTree();
    tree.add(entry("m1", "$share/g/a/+"));
    tree.add(entry("m2", "$share/g/a/+"));
    tree.add(entry("m3", "$share/h/a/+"));
    tree.add(entry("m1", "a/+"));
    expect(tree.size).toBe(4);
    const groups: string[] = [];
    const plain: string[] = [];
    tree.match("a/x", (e) => plain.push(e.clientId), (group, members) => groups.push(`${group}:${[...members.keys()].sort().join(",")}`));
    expect(groups.sort()).toEqual(["g:m1,m2", "h:m3"]);
    expect(plain).toEqual(["m1"]);
    // the same member subscribing again to the same shared filter replaces, not duplicates
    expect(tree.add(entry("m2", "$share/g/a/+", { qos: 1 }))).toBe(true);
    expect(match(tree, "a/x")).toEqual(["$g:a/+[m1,m2]", "$h:a/+[m3]", "m1:a/+"]);
  });

  it("removes a subscription by the filter the client sent, shared or not, and reports whether it existed", () => {
    const tree = new TopicTree();
    tree.add(entry("c", "a/#"));
    tree.add(entry("c", "$share/g/a/#"));
    tree.add(entry("d", "$share/g/a/#"));
    expect(tree.remove("c", "a/b")).toBe(false);
    expect(tree.remove("x", "a/#")).toBe(false);
    expect(tree.remove("c", "$share/other/a/#")).toBe(false);
    expect(tree.remove("c", "$share/g/a/#")).toBe(true);
    expect(match(tree, "a/b")).toEqual(["$g:a/#[d]", "c:a/#"]);
    expect(tree.remove("c", "a/#")).toBe(true);
    expect(tree.remove("c", "a/#")).toBe(false);
    expect(match(tree, "a/b")).toEqual(["$g:a/#[d]"]);
    expect(tree.remove("d", "$share/g/a/#")).toBe(true);
    expect(match(tree, "a/b")).toEqual([]);
    expect(tree.size).toBe(0);
  });

  it("prunes empty branches on remove but keeps the ones still holding subscriptions", () => {
    const tree = new TopicTree();
    expect(tree.nodeCount).toBe(1);
    tree.add(entry("c", "a/b/c/d"));
    expect(tree.nodeCount).toBe(5);
    tree.add(entry("c", "a/b"));
    tree.add(entry("c", "$share/g/a/b/x"));
    expect(tree.nodeCount).toBe(6);
    expect(tree.remove("c", "a/b/c/d")).toBe(true);
    expect(tree.nodeCount).toBe(4); // root, a, b, x: c and d went
    expect(match(tree, "a/b")).toEqual(["c:a/b"]);
    expect(match(tree, "a/b/x")).toEqual(["$g:a/b/x[c]"]);
    expect(match(tree, "a/b/c/d")).toEqual([]);
    expect(tree.remove("c", "a/b")).toBe(true);
    expect(tree.nodeCount).toBe(4); // b still leads to x
    expect(match(tree, "a/b/x")).toEqual(["$g:a/b/x[c]"]);
    // a failed remove changes nothing
    expect(tree.remove("c", "a/b/x")).toBe(false);
    expect(tree.nodeCount).toBe(4);
    expect(tree.remove("c", "$share/g/a/b/x")).toBe(true);
    expect(tree.size).toBe(0);
    expect(tree.nodeCount).toBe(1);
    tree.add(entry("n", "a/+/c/#"));
    expect(match(tree, "a/b/c")).toEqual(["n:a/+/c/#"]);
    expect(match(tree, "a/b")).toEqual([]);
  });
});

describe("matching without recursion", () => {
  it("visits matches in a fixed order: # first at each level, then the exact branch, then the + branch", () => {
    const filters = ["a/b/c", "#", "a/+/c", "+/+/+", "a/#", "a/b/#", "+/b/c", "$share/g/a/+/c", "$share/g/#", "a/b/+", "+/#", "a/b/c/#"];
    const tree = new TopicTree();
    filters.forEach((f, i) => tree.add(entry(`c${i}`, f)));
    const inOrder = (topic: string) => {
      const out: string[] = [];
      tree.match(topic, (e) => out.push(e.topicFilter), (g, m) => out.push(`$${g}:${[...m.values()][0]!.filter}`));
      return out;
    };
    // The order the recursive walk produced; routing and merging see matches in it.
    expect(inOrder("a/b/c")).toEqual(["#", "$g:#", "a/#", "a/b/#", "a/b/c", "a/b/c/#", "a/b/+", "a/+/c", "$g:a/+/c", "+/#", "+/b/c", "+/+/+"]);
    expect(inOrder("a/x/c")).toEqual(["#", "$g:#", "a/#", "a/+/c", "$g:a/+/c", "+/#", "+/+/+"]);
    expect(inOrder("a")).toEqual(["#", "$g:#", "a/#", "+/#"]);
    expect(inOrder("$SYS/b/c")).toEqual([]);
  });

  it("matches a topic 100,000 levels deep against + and exact filters as deep without overflowing the stack", () => {
    const depth = 100_000;
    const tree = new TopicTree();
    tree.add(entry("plus", Array(depth).fill("+").join("/")));
    tree.add(entry("exact", Array(depth).fill("a").join("/")));
    tree.add(entry("mixed", Array(depth / 2).fill("+").join("/") + "/" + Array(depth / 2).fill("a").join("/")));
    tree.add(entry("hash", Array(depth - 1).fill("+").join("/") + "/#"));
    expect(match(tree, Array(depth).fill("a").join("/"))).toEqual(["exact:" + "a/".repeat(depth - 1) + "a", "hash:" + "+/".repeat(depth - 1) + "#", "mixed:" + "+/".repeat(depth / 2) + "a/".repeat(depth / 2 - 1) + "a", "plus:" + "+/".repeat(depth - 1) + "+"].sort());
    expect(match(tree, Array(depth + 1).fill("a").join("/"))).toEqual(["hash:" + "+/".repeat(depth - 1) + "#"]);
    expect(tree.nodeCount).toBeGreaterThan(2 * depth);
  });

  it("matches the same on topics seen before, past the number of topics it keeps the levels of, and on topics too long to keep", () => {
    const tree = new TopicTree();
    tree.add(entry("x", "t/+/end"));
    tree.add(entry("y", "t/#"));
    const long = "t/" + "l".repeat(200) + "/end";
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 1500; i++) expect(match(tree, `t/${i}/end`)).toEqual(["x:t/+/end", "y:t/#"]);
      expect(match(tree, long)).toEqual(["x:t/+/end", "y:t/#"]);
      expect(match(tree, "t/0/other")).toEqual(["y:t/#"]);
    }
    // What changed in the tree counts at once for a topic whose levels are kept.
    tree.remove("y", "t/#");
    expect(match(tree, "t/0/end")).toEqual(["x:t/+/end"]);
    expect(match(tree, long)).toEqual(["x:t/+/end"]);
  });

  it("matches nothing, and does not fail, while it holds no subscription", () => {
    const tree = new TopicTree();
    expect(match(tree, "a/b")).toEqual([]);
    tree.add(entry("x", "a/b"));
    tree.remove("x", "a/b");
    expect(match(tree, "a/b")).toEqual([]);
  });
});
