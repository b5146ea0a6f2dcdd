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
    this.#walk(this.#root, filter.split("/"), 0, out);
    return out;
  }

  /** Every retained message (for $SYS counts and for persistence). */
  all(): Message[] {
    const out: Message[] = [];
    const visit = (n: Node) => {
      if (n.message) out.push(n.message);
      if (n.children) for (const c of n.children.values()) visit(c);
    };
    visit(this.#root);
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

  #walk(node: Node, levels: string[], i: number, out: Message[]): void {
    if (i === levels.length) {
      if (node.message) out.push(node.message);
      return;
    }
    const level = levels[i]!;
    if (level === "#") {
      // `#` also matches the parent level itself, even one with no levels below [MQTT-4.7.1-1].
      if (i > 0 && node.message) out.push(node.message);
      this.#collect(node, i === 0, out);
      return;
    }
    const children = node.children;
    if (children === undefined) return;
    if (level === "+") {
      for (const [name, child] of children) {
        if (i === 0 && name.startsWith("$")) continue; // [MQTT-4.7.2-1]
        this.#walk(child, levels, i + 1, out);
      }
    } else {
      const child = children.get(level);
      if (child) this.#walk(child, levels, i + 1, out);
    }
  }

  #collect(node: Node, skipDollar: boolean, out: Message[]): void {
    if (!node.children) return;
    for (const [name, child] of node.children) {
      if (skipDollar && name.startsWith("$")) continue; // [MQTT-4.7.2-1]
      if (child.message) out.push(child.message);
      this.#collect(child, false, out);
    }
  }
}
