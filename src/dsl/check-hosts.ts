/**
 * Rules of hosts (spec §9) the schema cannot say: `on:` names an ssh connection and is written on a
 * shell or docker step (not with for_each), `batch`/`max_failures` only with `on:`, `via` names
 * another ssh connection without a cycle, and — when the runbook names its inventory — every group
 * or host a connection's `hosts` lists exists there (checkInventoryHosts, also run by the CLI for
 * `--inventory`, before anything runs).
 */
import { resolve } from 'node:path';
import type { Diagnostic } from './errors.js';
import type { RunbookModel } from './model.js';
import { describeUnknown, InventoryError, loadInventory, unknownNames, type Inventory } from '../inventory/index.js';

const ON_TYPES = ['shell', 'docker'];

export function checkHosts(model: RunbookModel): Diagnostic[] {
  const out: Diagnostic[] = [];
  const src = model.src;
  for (const s of model.steps.values()) {
    const stepPath = s.path.slice(0, -1);
    if (!s.on) {
      for (const f of ['batch', 'max_failures'] as const) {
        if (s[f] !== undefined) {
          out.push({ code: 'ON_FIELD', message: `step '${s.id}': ${f} applies to the hosts of 'on:', and this step has none`, ...src.pos([...stepPath, f], { key: true }) });
        }
      }
      continue;
    }
    const at = src.pos(s.on.path);
    const c = model.connections[s.on.connection];
    if (!ON_TYPES.includes(s.type)) {
      out.push({ code: 'ON_TYPE', message: `step '${s.id}': on: runs shell and docker steps on hosts, not ${s.type} steps`, ...at });
    } else if (!c) {
      out.push({ code: 'UNKNOWN_CONNECTION', message: `step '${s.id}': on: '${s.on.connection}' is not a connection of this runbook`, ...at });
    } else if (c.kind !== 'ssh') {
      out.push({ code: 'CONNECTION_KIND', message: `step '${s.id}': on: '${s.on.connection}' is a ${c.kind} connection; on: needs an ssh connection`, ...at });
    }
    if (s.for_each) {
      out.push({ code: 'ON_FOR_EACH', message: `step '${s.id}': on: and for_each cannot be combined (each host is already an instance); loop inside the script instead`, ...at });
    }
  }
  for (const [name, c] of Object.entries(model.connections)) {
    if (c.kind !== 'ssh') continue;
    const via = (c.config as { via?: unknown }).via;
    if (typeof via !== 'string') continue;
    const at = src.pos([...c.path, 'via']);
    const target = model.connections[via];
    if (!target) out.push({ code: 'UNKNOWN_CONNECTION', message: `connection '${name}': via '${via}' is not a connection of this runbook`, ...at });
    else if (target.kind !== 'ssh') out.push({ code: 'CONNECTION_KIND', message: `connection '${name}': via '${via}' is a ${target.kind} connection; a jump host is an ssh connection`, ...at });
    else if (viaCycle(model, name)) out.push({ code: 'VIA_CYCLE', message: `connection '${name}': via leads back to itself (${viaCycle(model, name)!.join(' → ')})`, ...at });
  }
  if (model.inventory !== undefined) {
    const file = resolve(model.baseDir, model.inventory);
    try {
      out.push(...checkInventoryHosts(model, loadInventory(file)));
    } catch (e) {
      if (!(e instanceof InventoryError)) throw e;
      out.push({ code: 'INVENTORY', message: `inventory: ${e.message}`, ...src.pos(['inventory']) });
    }
  }
  return out;
}

function viaCycle(model: RunbookModel, start: string): string[] | undefined {
  const path = [start];
  let cur = start;
  for (;;) {
    const via = (model.connections[cur]?.config as { via?: unknown } | undefined)?.via;
    if (typeof via !== 'string' || model.connections[via]?.kind !== 'ssh') return undefined;
    path.push(via);
    if (via === start) return path;
    if (path.indexOf(via) < path.length - 1) return undefined; // a cycle further on: reported there
    cur = via;
  }
}

/** Every literal group or host name a connection's `hosts` lists must be in the inventory. */
export function checkInventoryHosts(model: RunbookModel, inv: Inventory): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [name, c] of Object.entries(model.connections)) {
    if (c.kind !== 'ssh') continue;
    const hosts = (c.config as { hosts?: unknown }).hosts;
    const list = typeof hosts === 'string' ? [hosts] : Array.isArray(hosts) ? hosts : [];
    list.forEach((h, i) => {
      if (typeof h !== 'string' || h.includes('${{') || !unknownNames(inv, [h]).length) return;
      const path = typeof hosts === 'string' ? [...c.path, 'hosts'] : [...c.path, 'hosts', i];
      out.push({ code: 'INVENTORY_GROUP', message: `connection '${name}': ${describeUnknown(inv, h)}`, ...model.src.pos(path) });
    });
  }
  return out;
}
