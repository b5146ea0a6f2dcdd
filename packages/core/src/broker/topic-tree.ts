import { parseSharedFilter, type SubscriptionEntry } from "../model/subscription.ts";

const LEVELS_KEPT = 1024;
const LEVELS_TOPIC_CHARS = 128;

class Node {
  children: Map<string, Node> | undefined;
  /** Non-shared subscriptions on this exact filter, by client id. */
  subscribers: Map<string, SubscriptionEntry> | undefined;
  /** Shared subscriptions on this filter: group name → client id → entry. */
  groups: Map<string, Map<string, SubscriptionEntry>> | undefined;
}

/** Receives each subscription that matches a topic. */
export type MatchVisitor = (entry: SubscriptionEntry) => void;
/** Receives each share group that matches a topic, to pick one member. */
export type GroupVisitor = (group: string, members: Map<string, SubscriptionEntry>) => void;

/**
 * The subscription tree: one node per topic level, wildcard levels as
 * children named `+` and `#`. Matching walks only the branches a topic can
 * reach, so its cost depends on the topic's depth, not the subscription count.
 */
export class TopicTree {
  #root = new Node();
  #count = 0;
  // The match walk's stack of (node, level) pairs, kept between matches.
  readonly #stackNodes: (Node | undefined)[] = [];
  readonly #stackDepths: number[] = [];
  #matching = false;
  // The levels of recent short topics: most messages are on topics seen before, and levels
  // kept from one message to the next are strings whose hash is known, so each child lookup
  // is cheaper than with the fresh strings of a split. Bounded: at most LEVELS_KEPT topics of
  // at most LEVELS_TOPIC_CHARS, then forgotten at once.
  #levels: Map<string, string[]> | undefined;

  /** The number of subscriptions held. */
  get size(): number {
    return this.#count;
  }

  /** The number of tree nodes, root included: shows that removal prunes empty branches. */
  get nodeCount(): number {
    // An explicit stack: a tree may be as deep as the topic level limit allows (65,535).
    let c = 0;
    const stack: Node[] = [this.#root];
    for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
      c++;
      if (n.children) for (const child of n.children.values()) stack.push(child);
    }
    return c;
  }

  /** How many clients subscribe to exactly this filter (in this share group, for a shared one). */
  subscriberCount(filter: string, shareGroup?: string): number {
    let node: Node | undefined = this.#root;
    for (const level of filter.split("/")) {
      node = node.children?.get(level);
      if (node === undefined) return 0;
    }
    return (shareGroup === undefined ? node.subscribers?.size : node.groups?.get(shareGroup)?.size) ?? 0;
  }

  /** Adds or replaces a subscription; returns true if it replaced one [MQTT-3.8.4-3]. */
  add(entry: SubscriptionEntry): boolean {
    let node = this.#root;
    for (const level of entry.filter.split("/")) {
      node.children ??= new Map();
      let child = node.children.get(level);
      if (child === undefined) {
        child = new Node();
        node.children.set(level, child);
      }
      node = child;
    }
    let map: Map<string, SubscriptionEntry>;
    if (entry.shareGroup === undefined) {
      map = node.subscribers ??= new Map();
    } else {
      node.groups ??= new Map();
      map = node.groups.get(entry.shareGroup) ?? new Map();
      node.groups.set(entry.shareGroup, map);
    }
    const replaced = map.has(entry.clientId);
    map.set(entry.clientId, entry);
    if (!replaced) this.#count++;
    return replaced;
  }

  /** Removes a client's subscription to a filter; returns true if there was one. */
  remove(clientId: string, topicFilter: string): boolean {
    const { shareGroup, filter } = parseSharedFilter(topicFilter);
    const path: Node[] = [this.#root];
    const levels = filter.split("/");
    let node: Node | undefined = this.#root;
    for (const level of levels) {
      node = node.children?.get(level);
      if (node === undefined) return false;
      path.push(node);
    }
    let removed: boolean;
    if (shareGroup === undefined) {
      removed = node.subscribers?.delete(clientId) ?? false;
      if (node.subscribers?.size === 0) node.subscribers = undefined;
    } else {
      const group = node.groups?.get(shareGroup);
      removed = group?.delete(clientId) ?? false;
      if (group?.size === 0) node.groups!.delete(shareGroup);
      if (node.groups?.size === 0) node.groups = undefined;
    }
    if (!removed) return false;
    this.#count--;
    // Prune empty branches so the tree does not keep dead levels.
    for (let i = levels.length; i > 0; i--) {
      const n = path[i]!;
      if (n.subscribers || n.groups || (n.children && n.children.size > 0)) break;
      path[i - 1]!.children!.delete(levels[i - 1]!);
    }
    return true;
  }

  /**
   * Visits every subscription whose filter matches `topic`, and every share
   * group once. A topic starting with `$` is not matched by a filter starting
   * with a wildcard [MQTT-4.7.2-1].
   *
   * The walk is depth first with an explicit stack of (node, level) pairs, not
   * recursion: a topic may be as deep as the level limit allows (65,535), far
   * past what the call stack holds. At each node it visits the `#` child, then
   * the exact branch, then the `+` branch; a node reached at the topic's last
   * level is visited as it is entered.
   */
  match(topic: string, visit: MatchVisitor, visitGroup: GroupVisitor): void {
    // No subscription at all (a cluster node whose clients only publish): nothing to split the topic for.
    if (this.#root.children === undefined || this.#root.children.size === 0) return;
    const levels = this.#split(topic);
    const last = levels.length;
    const dollar = topic.charCodeAt(0) === 0x24;
    // The tree's own stack, reused so that matching allocates nothing; a visitor that matches again gets its own.
    const reentered = this.#matching;
    const nodes = reentered ? [] : this.#stackNodes;
    const depths = reentered ? [] : this.#stackDepths;
    this.#matching = true;
    let sp = 0;
    nodes[sp] = this.#root;
    depths[sp++] = 0;
    try {
      while (sp > 0) {
        const node = nodes[--sp]!;
        const i = depths[sp]!;
        nodes[sp] = undefined; // no stale hold on nodes a later remove prunes
        if (i === last) this.#emit(node, visit, visitGroup); // entered at the topic's last level: it matches
        const children = node.children;
        if (children === undefined) continue;
        const wildcardsAllowed = i !== 0 || !dollar; // [MQTT-4.7.2-1]
        if (wildcardsAllowed) {
          // `#` matches the parent level and any number of levels below [MQTT-4.7.1-1]
          const hash = children.get("#");
          if (hash !== undefined) this.#emit(hash, visit, visitGroup);
        }
        if (i === last) continue;
        // Pushed in reverse: the exact branch is walked before the `+` one.
        if (wildcardsAllowed) {
          const plus = children.get("+");
          if (plus !== undefined) {
            nodes[sp] = plus;
            depths[sp++] = i + 1;
          }
        }
        const exact = children.get(levels[i]!);
        if (exact !== undefined) {
          nodes[sp] = exact;
          depths[sp++] = i + 1;
        }
      }
    } finally {
      if (!reentered) this.#matching = false;
      while (sp > 0) nodes[--sp] = undefined; // a visitor threw: forget what was left
    }
  }

  #split(topic: string): string[] {
    if (topic.length > LEVELS_TOPIC_CHARS) return topic.split("/");
    const kept = (this.#levels ??= new Map());
    let levels = kept.get(topic);
    if (levels === undefined) {
      if (kept.size >= LEVELS_KEPT) kept.clear();
      kept.set(topic, (levels = topic.split("/")));
    }
    return levels;
  }

  #emit(node: Node, visit: MatchVisitor, visitGroup: GroupVisitor): void {
    if (node.subscribers !== undefined) for (const entry of node.subscribers.values()) visit(entry);
    if (node.groups !== undefined) for (const [group, members] of node.groups) visitGroup(group, members);
  }
}
