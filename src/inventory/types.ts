/** An Ansible inventory, as read from its YAML or INI form (./yaml.ts, ./ini.ts). */

export interface InventoryGroup {
  name: string;
  /** Hosts listed directly in the group (not through children), in file order. */
  hosts: string[];
  children: string[];
  vars: Record<string, unknown>;
}

export interface Inventory {
  file: string;
  /** Every host in file order, with its own (host-level) vars. */
  hosts: Map<string, Record<string, unknown>>;
  groups: Map<string, InventoryGroup>;
}

/** A host as steps see it (`host` in scope, spec §9). */
export interface InventoryHost {
  name: string;
  /** `ansible_host`, else the name. */
  address: string;
  port?: number;
  user?: string;
  /** Group vars (`all` first, parents before children, then by name) overridden by host vars. */
  vars: Record<string, unknown>;
}

export class InventoryError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
  ) {
    super(line === undefined ? `${file}: ${message}` : `${file}:${line}: ${message}`);
    this.name = 'InventoryError';
  }
}

export function emptyInventory(file: string): Inventory {
  return { file, hosts: new Map(), groups: new Map([['all', { name: 'all', hosts: [], children: [], vars: {} }], ['ungrouped', { name: 'ungrouped', hosts: [], children: [], vars: {} }]]) };
}

export function groupOf(inv: Inventory, name: string): InventoryGroup {
  let g = inv.groups.get(name);
  if (!g) {
    g = { name, hosts: [], children: [], vars: {} };
    inv.groups.set(name, g);
  }
  return g;
}

export function addHost(inv: Inventory, name: string, vars: Record<string, unknown>): void {
  inv.hosts.set(name, { ...(inv.hosts.get(name) ?? {}), ...vars });
}

/** Ansible's host patterns `web[01:03]` and `db-[a:c]`: the names they stand for. */
export function expandHostPattern(pattern: string): string[] {
  const m = /^(.*)\[([0-9a-z]+):([0-9a-z]+)(?::(\d+))?\](.*)$/.exec(pattern);
  if (!m) return [pattern];
  const [, head, from, to, stepText, tail] = m;
  const step = Number(stepText ?? 1);
  const out: string[] = [];
  if (/^\d+$/.test(from) && /^\d+$/.test(to)) {
    const width = from.length;
    for (let i = Number(from); i <= Number(to); i += step) out.push(...expandHostPattern(`${head}${String(i).padStart(width, '0')}${tail}`));
  } else if (from.length === 1 && to.length === 1) {
    for (let c = from.charCodeAt(0); c <= to.charCodeAt(0); c += step) out.push(...expandHostPattern(`${head}${String.fromCharCode(c)}${tail}`));
  } else return [pattern];
  return out;
}
