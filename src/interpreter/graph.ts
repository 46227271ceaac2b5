/**
 * The step graph of one section (a phase's steps, a finally list): concurrency groups by depth and
 * the critical path from predicted durations. `needs` on steps outside the section (an earlier
 * phase) are already satisfied and ignored here.
 */
export interface GraphNode {
  id: string;
  needs: string[];
}

/** Steps grouped by depth: group 0 starts at phase start, group n waits for something in n-1. */
export function concurrencyGroups(nodes: GraphNode[]): string[][] {
  const depth = depths(nodes);
  const groups: string[][] = [];
  for (const n of nodes) (groups[depth.get(n.id)!] ??= []).push(n.id);
  return groups.filter(Boolean);
}

export function depths(nodes: GraphNode[]): Map<string, number> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0; // cycles are rejected by validation; never loop here
    visiting.add(id);
    let d = 0;
    for (const dep of byId.get(id)!.needs) if (byId.has(dep)) d = Math.max(d, visit(dep) + 1);
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  for (const n of nodes) visit(n.id);
  return depth;
}

/** Earliest finish of every node and the longest (critical) path through the section. */
export function criticalPath(nodes: GraphNode[], duration: (id: string) => number): { total: number; path: string[]; finish: Map<string, number> } {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const finish = new Map<string, number>();
  const via = new Map<string, string | undefined>();
  const order = [...depths(nodes).entries()].sort((a, b) => a[1] - b[1]).map(([id]) => id);
  for (const id of order) {
    let start = 0;
    let from: string | undefined;
    for (const dep of byId.get(id)!.needs) {
      const f = finish.get(dep);
      if (f !== undefined && f >= start) {
        start = f;
        from = dep;
      }
    }
    finish.set(id, start + duration(id));
    via.set(id, from);
  }
  let end: string | undefined;
  // Ties go to the later (deeper) node, so equal estimates still show the longest chain.
  for (const [id, f] of finish) if (end === undefined || f >= finish.get(end)!) end = id;
  const path: string[] = [];
  for (let cur = end; cur !== undefined; cur = via.get(cur)) path.unshift(cur);
  return { total: end === undefined ? 0 : finish.get(end)!, path, finish };
}
