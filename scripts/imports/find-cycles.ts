/** A set of nodes that all reach each other, with one shortest way round. */
export interface Cycle {
  /** Every node of the strongly connected component, sorted. */
  nodes: string[];
  /** One cycle through them, from the first node back to it (`[a, b, a]`). */
  example: string[];
}

/** Every import cycle in `edges` (node → nodes it imports): Tarjan's strongly connected components of two or more nodes, or one that imports itself. */
export function findCycles(edges: ReadonlyMap<string, ReadonlySet<string>>): Cycle[] {
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const to of edges.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      components.push(component);
    }
  };
  for (const node of [...edges.keys()].sort()) if (!index.has(node)) visit(node);

  const cycles: Cycle[] = [];
  for (const component of components) {
    const nodes = component.sort();
    const start = nodes[0]!;
    if (nodes.length === 1 && !edges.get(start)?.has(start)) continue;
    cycles.push({ nodes, example: shortestLoop(start, new Set(nodes), edges) });
  }
  return cycles.sort((a, b) => (a.nodes[0]! < b.nodes[0]! ? -1 : 1));
}

// Breadth-first inside the component, so the example is as short as the cycle allows.
function shortestLoop(start: string, within: ReadonlySet<string>, edges: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i]!;
    for (const to of [...(edges.get(node) ?? [])].sort()) {
      if (to === start) {
        const path = [start];
        for (let at = node; at !== start; at = cameFrom.get(at)!) path.splice(1, 0, at);
        return [...path, start];
      }
      if (within.has(to) && !cameFrom.has(to)) {
        cameFrom.set(to, node);
        queue.push(to);
      }
    }
  }
  return [start, start];
}
