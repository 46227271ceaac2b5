/**
 * `runbook drills`: the DR guide's testing schedule (`drills.yaml`, spec §12) against history.
 * Each drill's last run (of `run --drill`), its result and RTO, when it is next due and whether it
 * is overdue. Decision: the schedule asks for a *passing* drill every period, so the next due date
 * counts from the last drill that succeeded; a failed drill is shown as the last run and leaves the
 * drill due (overdue once the period since the last success has passed, or at once if none passed).
 * Periods are calendar periods in UTC: weekly 7 days, monthly 1 month, quarterly 3, yearly 12
 * (31 Jan + 1 month = 28/29 Feb).
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { RunbookError, type Diagnostic } from '../dsl/errors.js';
import { ID_PATTERN } from '../dsl/schema-core.js';
import type { RunRecord } from './run-records.js';

export type DrillEvery = 'weekly' | 'monthly' | 'quarterly' | 'yearly';
export const DRILL_PERIODS: readonly DrillEvery[] = ['weekly', 'monthly', 'quarterly', 'yearly'];

export interface Drill {
  runbook: string;
  every: DrillEvery;
  title?: string;
}

export interface DrillStatus extends Drill {
  /** The newest drill run of the runbook, whatever its result. */
  last: {
    run: string;
    started_at: string;
    status: string;
    duration_ms?: number;
    rto: { objective_ms?: number; achieved_ms?: number; met: boolean | null };
  } | null;
  last_success_at: string | null;
  /** null: due now (never passed). */
  next_due: string | null;
  overdue: boolean;
  /** Why it is due or overdue: `never drilled`, `no passing drill`, `due since …`. */
  reason?: string;
  drills_run: number;
}

const KEYS = ['runbook', 'every', 'title'];

/** Read and check `drills.yaml`; every problem is reported as file:line:col (RunbookError with the first, all in `diagnostics`). */
export function loadDrills(file: string): Drill[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RunbookError({ code: 'DRILLS_NOT_FOUND', message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, file });
  }
  const { drills, diagnostics } = parseDrills(text, file);
  if (diagnostics.length) throw new DrillsError(diagnostics);
  return drills;
}

export class DrillsError extends RunbookError {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics[0]);
  }
}

export function parseDrills(text: string, file: string): { drills: Drill[]; diagnostics: Diagnostic[] } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  const diagnostics: Diagnostic[] = [];
  const at = (node: Node | null | undefined) => {
    const pos = node?.range ? lc.linePos(node.range[0]) : { line: 1, col: 1 };
    return { file, line: pos.line, col: pos.col };
  };
  const problem = (code: string, message: string, node?: Node | null) => diagnostics.push({ code, message, severity: 'error', ...at(node) });
  for (const e of doc.errors) problem('YAML', e.message.split('\n')[0], undefined);
  if (diagnostics.length) return { drills: [], diagnostics };
  const root = doc.contents;
  if (!isMap(root)) {
    problem('DRILLS', 'drills.yaml must be a map with a `drills:` list', root as Node);
    return { drills: [], diagnostics };
  }
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (key !== 'drills') problem('DRILLS', `unknown key '${key}' (expected drills)`, pair.key as Node);
  }
  const list = root.get('drills', true) as Node | undefined;
  if (!isSeq(list)) {
    problem('DRILLS', '`drills` must be a list of { runbook, every }', (list ?? root) as Node);
    return { drills: [], diagnostics };
  }
  const drills: Drill[] = [];
  const seen = new Set<string>();
  for (const item of list.items as Node[]) {
    if (!isMap(item)) {
      problem('DRILLS', 'a drill is a map { runbook, every }', item);
      continue;
    }
    for (const pair of item.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!KEYS.includes(key)) problem('DRILLS', `unknown key '${key}' (expected ${KEYS.join(', ')})`, pair.key as Node);
    }
    const runbook = item.get('runbook', true) as Node | undefined;
    const every = item.get('every', true) as Node | undefined;
    const title = item.get('title', true) as Node | undefined;
    const id = isScalar(runbook) ? runbook.value : undefined;
    if (typeof id !== 'string' || !new RegExp(ID_PATTERN).test(id)) problem('DRILLS', '`runbook` must be a runbook id (e.g. database-corruption)', runbook ?? item);
    const period = isScalar(every) ? every.value : undefined;
    if (!DRILL_PERIODS.includes(period as DrillEvery)) problem('DRILLS', `\`every\` must be one of ${DRILL_PERIODS.join(', ')}`, every ?? item);
    if (typeof id === 'string' && seen.has(id)) problem('DRILLS', `runbook '${id}' is listed twice`, runbook);
    if (typeof id === 'string') seen.add(id);
    if (typeof id === 'string' && DRILL_PERIODS.includes(period as DrillEvery)) {
      drills.push({ runbook: id, every: period as DrillEvery, ...(isScalar(title) && typeof title.value === 'string' ? { title: title.value } : {}) });
    }
  }
  return { drills, diagnostics };
}

/** `from` plus one period, in UTC calendar terms (the day clamped to the month's last). */
export function addPeriod(fromMs: number, every: DrillEvery): number {
  if (every === 'weekly') return fromMs + 7 * 86_400_000;
  const months = every === 'monthly' ? 1 : every === 'quarterly' ? 3 : 12;
  const d = new Date(fromMs);
  const day = d.getUTCDate();
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return target.getTime();
}

export function drillStatuses(drills: Drill[], records: RunRecord[], nowMs: number): DrillStatus[] {
  return drills.map((d) => {
    const runs = records.filter((r) => r.drill && r.runbook === d.runbook).sort((a, b) => a.started_ms - b.started_ms);
    const last = runs[runs.length - 1];
    const success = [...runs].reverse().find((r) => r.status === 'succeeded');
    const due = success ? addPeriod(success.started_ms, d.every) : null;
    const overdue = due === null || due < nowMs;
    const reason = !last ? 'never drilled' : !success ? 'no passing drill' : overdue ? `due since ${new Date(due!).toISOString()}` : undefined;
    return {
      ...d,
      last: last
        ? { run: last.run, started_at: new Date(last.started_ms).toISOString(), status: last.status, ...(last.duration_ms !== undefined ? { duration_ms: last.duration_ms } : {}), rto: last.rto }
        : null,
      last_success_at: success ? new Date(success.started_ms).toISOString() : null,
      next_due: due === null ? null : new Date(due).toISOString(),
      overdue,
      ...(reason ? { reason } : {}),
      drills_run: runs.length,
    };
  });
}
