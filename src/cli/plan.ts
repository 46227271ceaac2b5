/** `runbook plan <file>`: the dry run; never executes anything (except read-only --preflight checks). */
import { cliParams } from './params.js';
import { buildPlan } from '../interpreter/plan.js';
import { stepDurations } from '../report/history.js';
import { printDiagnostics, loadOrReport } from './output.js';
import { loadRunInventory } from './inventory.js';
import { openStore } from '../state/open.js';
import { renderPlanText } from './plan-text.js';

export interface PlanCliOptions {
  set?: string[];
  paramsFile?: string;
  json?: boolean;
  preflight?: boolean;
  stateDir?: string;
  state?: string;
  /** `--inventory FILE` (spec §9). */
  inventory?: string;
}

export async function planCommand(file: string, opts: PlanCliOptions): Promise<number> {
  const loaded = loadOrReport(file);
  if (!loaded) return 2;
  const values = cliParams(loaded.model, opts);
  if (!values) return 2;
  const params = { values };
  const inventory = loadRunInventory(loaded.model, opts.inventory);
  if (inventory === false) return 2;
  // History only improves the prediction: a store that cannot be opened is said, not fatal.
  const store = await openStore(opts, process.env, { readOnly: true }).catch((e: Error) => {
    process.stderr.write(`runbook: no history for the prediction: ${e.message}\n`);
    return undefined;
  });
  const historyFor = (id: string) => {
    try {
      return store ? stepDurations(store, id) : undefined;
    } catch {
      return undefined;
    }
  };
  const plan = buildPlan(loaded.model, { params: params.values, history: historyFor(loaded.model.id), loaded, historyFor, ...(inventory ? { inventory } : {}) });
  store?.close();
  let preflightFailed = false;
  let checks: Awaited<ReturnType<typeof import('../interpreter/preflight.js').runPreflight>> | undefined;
  if (opts.preflight) {
    const { runPreflight } = await import('../interpreter/preflight.js');
    checks = await runPreflight(loaded, params.values, process.env, inventory);
    preflightFailed = checks.some((c) => !c.ok);
  }
  if (opts.json) {
    process.stdout.write(JSON.stringify(checks ? { ...plan, preflight: checks } : plan, null, 2) + '\n');
  } else {
    process.stdout.write(renderPlanText(plan) + '\n');
    if (checks) {
      process.stdout.write('\nPreflight (read-only checks)\n');
      const width = Math.max(6, ...checks.map((c) => c.target.length));
      for (const c of checks) process.stdout.write(`  ${c.ok ? '✓' : '✗'} ${c.target.padEnd(width)}  ${c.detail}\n`);
      process.stdout.write(`${preflightFailed ? '✗ some checks failed' : '✓ all checks passed'}\n`);
    }
  }
  return preflightFailed ? 1 : 0;
}
