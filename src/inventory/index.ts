/**
 * Inventories (spec §9): Ansible's YAML or INI format, named by `inventory:` in the runbook or
 * `--inventory FILE`. `group_vars/<group>.yml` and `host_vars/<host>.yml` beside the file are read
 * too, as Ansible does. Hosts of a connection are chosen by group or host names; the vars a host
 * gets are merged as Ansible merges them (all < parent groups < child groups < the host).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { parseIniInventory } from './ini.js';
import { parseYamlInventory } from './yaml.js';
import { InventoryError, type Inventory, type InventoryHost } from './types.js';
import { closest } from '../dsl/suggest.js';
// Loaded on first need (the yaml package costs start-up time, and validate reaches this module).
import { yaml } from '../dsl/load.js';

export { InventoryError, type Inventory, type InventoryHost } from './types.js';
export { parseIniInventory } from './ini.js';
export { parseYamlInventory } from './yaml.js';

export function loadInventory(file: string): Inventory {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InventoryError(code === 'ENOENT' ? 'inventory file not found' : `cannot read the inventory: ${(e as Error).message}`, file);
  }
  const inv = isYaml(file, text) ? parseYamlInventory(text, file) : parseIniInventory(text, file);
  readVarDirs(inv, dirname(file));
  return inv;
}

/** `.yml`/`.yaml`/`.json` are YAML; otherwise a file whose first line is `all:`-like is YAML too, else INI. */
function isYaml(file: string, text: string): boolean {
  const ext = extname(file).toLowerCase();
  if (['.yml', '.yaml', '.json'].includes(ext)) return true;
  if (ext === '.ini' || ext === '.cfg') return false;
  const first = text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#') && !l.startsWith(';'));
  return first !== undefined && /^[^\s=[]+:\s*$/.test(first);
}

function readVarDirs(inv: Inventory, dir: string): void {
  const read = (kind: string, name: string): Record<string, unknown> | undefined => {
    for (const ext of ['.yml', '.yaml', '']) {
      const f = join(dir, kind, name + ext);
      if (!existsSync(f) || !ext) continue;
      const v = yaml().parse(readFileSync(f, 'utf8'));
      if (v === null || v === undefined) return {};
      if (typeof v !== 'object' || Array.isArray(v)) throw new InventoryError('vars file must be a map', f);
      return v as Record<string, unknown>;
    }
    return undefined;
  };
  for (const g of inv.groups.values()) {
    const v = read('group_vars', g.name);
    if (v) g.vars = { ...v, ...g.vars };
  }
  for (const [name, vars] of inv.hosts) {
    const v = read('host_vars', name);
    if (v) inv.hosts.set(name, { ...v, ...vars });
  }
}

/** Every host of a group, through its children, in file order. */
function groupHosts(inv: Inventory, name: string, seen = new Set<string>()): string[] {
  if (name === 'all') return [...inv.hosts.keys()];
  const g = inv.groups.get(name);
  if (!g || seen.has(name)) return [];
  seen.add(name);
  const out = [...g.hosts];
  for (const c of g.children) for (const h of groupHosts(inv, c, seen)) if (!out.includes(h)) out.push(h);
  return out;
}

/** The names a connection's `hosts` stands for that the inventory does not know (for one clear error). */
export function unknownNames(inv: Inventory, names: string[]): string[] {
  return names.filter((n) => !inv.groups.has(n) && !inv.hosts.has(n) && n !== 'all');
}

export function describeUnknown(inv: Inventory, name: string): string {
  const hint = closest(name, [...inv.groups.keys(), ...inv.hosts.keys()]);
  return `inventory ${inv.file} has no group or host '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}`;
}

/** The hosts `names` (groups or hosts) stand for, deduplicated, in order. Throws on an unknown name. */
export function selectHosts(inv: Inventory, names: string[]): InventoryHost[] {
  const picked: string[] = [];
  for (const n of names) {
    const hosts = inv.hosts.has(n) ? [n] : inv.groups.has(n) || n === 'all' ? groupHosts(inv, n) : undefined;
    if (!hosts) throw new InventoryError(describeUnknown(inv, n).replace(`inventory ${inv.file} `, ''), inv.file);
    for (const h of hosts) if (!picked.includes(h)) picked.push(h);
  }
  return picked.map((h) => hostOf(inv, h));
}

/** A host with its merged vars and its ansible_host / ansible_port / ansible_user. */
export function hostOf(inv: Inventory, name: string): InventoryHost {
  const depth = new Map<string, number>();
  const walk = (g: string, d: number) => {
    if ((depth.get(g) ?? -1) >= d) return;
    depth.set(g, d);
    for (const c of inv.groups.get(g)?.children ?? []) walk(c, d + 1);
  };
  walk('all', 0);
  for (const g of inv.groups.keys()) if (!depth.has(g)) walk(g, 1);
  const member = [...inv.groups.values()].filter((g) => g.name === 'all' || groupHosts(inv, g.name).includes(name));
  member.sort((a, b) => (depth.get(a.name) ?? 1) - (depth.get(b.name) ?? 1) || a.name.localeCompare(b.name));
  const vars: Record<string, unknown> = {};
  for (const g of member) Object.assign(vars, g.vars);
  Object.assign(vars, inv.hosts.get(name) ?? {});
  const pick = (...keys: string[]) => keys.map((k) => vars[k]).find((v) => v !== undefined && v !== null && v !== '');
  const port = pick('ansible_port', 'ansible_ssh_port');
  const user = pick('ansible_user', 'ansible_ssh_user');
  return {
    name,
    address: String(pick('ansible_host', 'ansible_ssh_host') ?? name),
    ...(port !== undefined ? { port: Number(port) } : {}),
    ...(user !== undefined ? { user: String(user) } : {}),
    vars,
  };
}
