import { parseSharedFilter, type SubscriptionEntry } from "../model/subscription.ts";

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

  /** The number of subscriptions held. */
  get size(): number {
    return this.#count;
  }

  /** The number of tree nodes, root included: shows that removal prunes empty branches. */
  get nodeCount(): number {
    const count = (n: Node): number => {
      let c = 1;
      if (n.children) for (const child of n.children.values()) c += count(child);
      return c;
    };
    return count(this.#root);
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
   */
  match(topic: string, visit: MatchVisitor, visitGroup: GroupVisitor): void {
    const levels = topic.split("/");
    this.#match(this.#root, levels, 0, topic.charCodeAt(0) === 0x24, visit, visitGroup);
  }

  #match(node: Node, levels: string[], i: number, dollar: boolean, visit: MatchVisitor, visitGroup: GroupVisitor): void {
    const children = node.children;
    if (children === undefined) return;
    const wildcardsAllowed = !(i === 0 && dollar); // [MQTT-4.7.2-1]
    if (wildcardsAllowed) {
      // `#` matches the parent level and any number of levels below [MQTT-4.7.1-1]
      const hash = children.get("#");
      if (hash !== undefined) this.#emit(hash, visit, visitGroup);
    }
    if (i === levels.length) return;
    const level = levels[i]!;
    const exact = children.get(level);
    const next = i + 1;
    if (exact !== undefined) {
      if (next === levels.length) this.#emit(exact, visit, visitGroup);
      this.#match(exact, levels, next, dollar, visit, visitGroup);
    }
    if (wildcardsAllowed) {
      const plus = children.get("+");
      if (plus !== undefined) {
        if (next === levels.length) this.#emit(plus, visit, visitGroup);
        this.#match(plus, levels, next, dollar, visit, visitGroup);
      }
    }
  }

  #emit(node: Node, visit: MatchVisitor, visitGroup: GroupVisitor): void {
    if (node.subscribers !== undefined) for (const entry of node.subscribers.values()) visit(entry);
    if (node.groups !== undefined) for (const [group, members] of node.groups) visitGroup(group, members);
  }
}
