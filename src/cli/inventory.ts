/**
 * Which inventory a run uses (spec §9), loaded and checked before anything runs: `--inventory`,
 * else RUNBOOK_INVENTORY, else the runbook's own `inventory:`, else the config file's. Every group
 * or host an ssh connection lists must be in it (exit 2 otherwise, naming the place).
 */
import { resolve } from 'node:path';
import type { RunbookModel } from '../dsl/model.js';
import { checkInventoryHosts } from '../dsl/check-hosts.js';
import { InventoryError, loadInventory, type Inventory } from '../inventory/index.js';
import { cliConfig } from './config.js';
import { printDiagnostics } from './output.js';

/** The inventory file that applies, or undefined. */
export function inventoryFile(model: RunbookModel, flag?: string): string | undefined {
  const cfg = cliConfig({ inventory: flag });
  const explicit = cfg.source.inventory === '--inventory' || cfg.source.inventory === 'RUNBOOK_INVENTORY';
  if (cfg.inventory !== undefined && explicit) return resolve(cfg.inventory);
  if (model.inventory !== undefined) return resolve(model.baseDir, model.inventory);
  return cfg.inventory;
}

/** The run's inventory; `false` when it cannot be used (the reason is printed). */
export function loadRunInventory(model: RunbookModel, flag?: string): Inventory | undefined | false {
  const file = inventoryFile(model, flag);
  if (file === undefined) return undefined;
  let inv: Inventory;
  try {
    inv = loadInventory(file);
  } catch (e) {
    if (!(e instanceof InventoryError)) throw e;
    process.stderr.write(`runbook: inventory ${e.message}\n`);
    return false;
  }
  const diags = checkInventoryHosts(model, inv);
  if (diags.length) {
    printDiagnostics(diags);
    return false;
  }
  return inv;
}
