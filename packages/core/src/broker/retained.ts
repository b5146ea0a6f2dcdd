import type { Message } from "../model/message.ts";

class Node {
  children: Map<string, Node> | undefined;
  message: Message | undefined;
}

/**
 * Retained messages, one per topic, in a tree of topic levels so that a new
 * subscription's filter finds its matches without scanning every topic.
 */
export class RetainedStore {
  #root = new Node();
  #count = 0;
  #bytes = 0;

  /** The number of retained messages. */
  get size(): number {
    return this.#count;
  }

  /** The payload bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Stores or replaces the retained message for its topic; an empty payload clears it [MQTT-3.3.1-6], [MQTT-3.3.1-7]. */
  set(message: Message): void {
    const levels = message.topic.split("/");
    if (message.payload.byteLength === 0) {
      this.#delete(levels);
      return;
    }
    let node = this.#root;
    for (const level of levels) {
      node.children ??= new Map();
      let child = node.children.get(level);
      if (child === undefined) {
        child = new Node();
        node.children.set(level, child);
      }
      node = child;
    }
    if (node.message === undefined) this.#count++;
    else this.#bytes -= node.message.payload.byteLength;
    node.message = message;
    this.#bytes += message.payload.byteLength;
  }

  /** The retained message on exactly this topic. */
  get(topic: string): Message | undefined {
    let node: Node | undefined = this.#root;
    for (const level of topic.split("/")) {
      node = node.children?.get(level);
      if (node === undefined) return undefined;
    }
    return node.message;
  }

  #delete(levels: string[]): void {
    const path: Node[] = [this.#root];
    let node: Node | undefined = this.#root;
    for (const level of levels) {
      node = node.children?.get(level);
      if (node === undefined) return;
      path.push(node);
    }
    if (node.message === undefined) return;
    this.#bytes -= node.message.payload.byteLength;
    node.message = undefined;
    this.#count--;
    for (let i = levels.length; i > 0; i--) {
      const n = path[i]!;
      if (n.message || (n.children && n.children.size > 0)) break;
      path[i - 1]!.children!.delete(levels[i - 1]!);
    }
  }

  /**
   * Returns the retained messages whose topics match `filter` (without any
   * `$share/` prefix). Wildcards at the first level skip `$` topics [MQTT-4.7.2-1].
   */
  match(filter: string): Message[] {
    const out: Message[] = [];
    this.#walk(this.#root, filter.split("/"), 0, [], out);
    return out;
  }

  /** Every retained message (for $SYS counts and for persistence), in tree order. */
  all(): Message[] {
    const out: Message[] = [];
    const root = this.#root;
    if (root.message) out.push(root.message);
    if (root.children) this.#walk(undefined, [], 0, [{ children: root.children.entries(), next: SUBTREE, skipDollar: false }], out);
    return out;
  }

  /** Drops retained messages whose Message Expiry Interval has passed [MQTT-3.3.2-5]. */
  expire(now: number): number {
    let dropped = 0;
    for (const m of this.all()) {
      if (m.expiresAt !== undefined && m.expiresAt <= now) {
        this.#delete(m.topic.split("/"));
        dropped++;
      }
    }
    return dropped;
  }

  // Depth first with an explicit stack, not recursion: a topic may be as deep
  // as the level limit allows (65,535). Each frame iterates one node's
  // children, so matches come in tree order: a node's message before the ones
  // below it, siblings in the order they were first stored. Starts at `node`
  // on level `i` of `levels`, or with no node at what `stack` holds.
  #walk(node: Node | undefined, levels: string[], i: number, stack: Frame[], out: Message[]): void {
    for (;;) {
      // Follow exact levels down from `node` until the filter ends, branches or finds nothing.
      while (node !== undefined) {
        if (i === levels.length) {
          if (node.message) out.push(node.message);
          break;
        }
        const level = levels[i]!;
        if (level === "#") {
          // `#` also matches the parent level itself, even one with no levels below [MQTT-4.7.1-1].
          if (i > 0 && node.message) out.push(node.message);
          if (node.children) stack.push({ children: node.children.entries(), next: SUBTREE, skipDollar: i === 0 });
          break;
        }
        if (level === "+") {
          if (node.children) stack.push({ children: node.children.entries(), next: i + 1, skipDollar: i === 0 });
          break;
        }
        node = node.children?.get(level);
        i++;
      }
      node = undefined;
      // Go on with the next child of the innermost level that branches.
      while (node === undefined) {
        const frame = stack[stack.length - 1];
        if (frame === undefined) return;
        const step = frame.children.next();
        if (step.done) {
          stack.pop();
          continue;
        }
        const [name, child] = step.value;
        if (frame.skipDollar && name.charCodeAt(0) === 0x24) continue; // [MQTT-4.7.2-1]
        if (frame.next === SUBTREE) {
          // Below `#`: every message of the subtree, each before the ones below it.
          if (child.message) out.push(child.message);
          if (child.children) stack.push({ children: child.children.entries(), next: SUBTREE, skipDollar: false });
          continue;
        }
        node = child;
        i = frame.next;
      }
    }
  }
}

// A frame of the walk's stack: one node's children being iterated, and the filter level each child continues at.
interface Frame {
  children: MapIterator<[string, Node]>;
  /** The filter level a child continues at, or SUBTREE below `#`. */
  next: number;
  /** Whether children named `$…` are skipped (a wildcard at the first level) [MQTT-4.7.2-1]. */
  skipDollar: boolean;
}

// Frame.next below `#`: every message of the subtree matches.
const SUBTREE = -1;
