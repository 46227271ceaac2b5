/**
 * Ansible's YAML inventory: top-level groups (usually `all`), each with `hosts` (a map of host →
 * vars), `vars` and `children` (groups, recursively).
 */
import { yaml } from '../dsl/load.js';
import { addHost, emptyInventory, expandHostPattern, groupOf, InventoryError, type Inventory } from './types.js';

type Node = Record<string, unknown> | null | undefined;

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function parseYamlInventory(text: string, file: string): Inventory {
  let doc: unknown;
  try {
    doc = yaml().parse(text);
  } catch (e) {
    throw new InventoryError(`not valid YAML: ${(e as Error).message.split('\n')[0]}`, file);
  }
  const inv = emptyInventory(file);
  if (doc === null || doc === undefined) return inv;
  if (!isMap(doc)) throw new InventoryError('a YAML inventory must be a map of groups (all:, web:, …)', file);
  const visit = (name: string, node: unknown, path: string) => {
    if (node !== null && node !== undefined && !isMap(node)) throw new InventoryError(`${path}: a group must be a map (hosts:, vars:, children:)`, file);
    const g = groupOf(inv, name);
    const n = (node ?? {}) as NonNullable<Node>;
    for (const key of Object.keys(n)) {
      if (!['hosts', 'vars', 'children'].includes(key)) throw new InventoryError(`${path}: unknown key '${key}' (a group has hosts, vars and children)`, file);
    }
    if (n.hosts !== undefined && n.hosts !== null) {
      if (!isMap(n.hosts)) throw new InventoryError(`${path}.hosts: must be a map of host names (to their vars)`, file);
      for (const [pattern, vars] of Object.entries(n.hosts)) {
        if (vars !== null && vars !== undefined && !isMap(vars)) throw new InventoryError(`${path}.hosts.${pattern}: host vars must be a map`, file);
        for (const h of expandHostPattern(pattern)) {
          addHost(inv, h, (vars ?? {}) as Record<string, unknown>);
          if (!g.hosts.includes(h)) g.hosts.push(h);
        }
      }
    }
    if (n.vars !== undefined && n.vars !== null) {
      if (!isMap(n.vars)) throw new InventoryError(`${path}.vars: must be a map`, file);
      Object.assign(g.vars, n.vars);
    }
    if (n.children !== undefined && n.children !== null) {
      if (!isMap(n.children)) throw new InventoryError(`${path}.children: must be a map of group names`, file);
      for (const [child, sub] of Object.entries(n.children)) {
        if (!g.children.includes(child)) g.children.push(child);
        visit(child, sub, `${path}.children.${child}`);
      }
    }
  };
  for (const [name, node] of Object.entries(doc)) visit(name, node, name);
  return inv;
}
