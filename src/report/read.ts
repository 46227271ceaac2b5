/**
 * Reading runs back from the state store (spec §10: every machine with the same store sees every
 * run). Each function takes the store, or a state-dir folder (the local store) as callers before the
 * store had.
 */
import { RunbookError } from '../dsl/errors.js';
import type { RunEvent } from '../interpreter/events.js';
import { storeOf } from '../state/open.js';
import type { StateStore } from '../state/types.js';
import type { RunSummary } from '../state/summary.js';

export type { RunSummary } from '../state/summary.js';
export { journalPath, parseJournal } from '../state/file/read.js';

/** A store, or the folder of a local one. */
export type StoreRef = StateStore | string;

/** The events of one run, in journal order. Throws `RUN_NOT_FOUND` when there is no such run. */
export function readRunEvents(ref: StoreRef, runId: string): RunEvent[] {
  return storeOf(ref).readRun(runId);
}

/** Every run in the store (of one runbook when given), newest `run.started` first. */
export function listRuns(ref: StoreRef, runbookId?: string): RunSummary[] {
  return storeOf(ref).listRuns(runbookId);
}

/**
 * `latest` → the newest run of any runbook; otherwise an exact run id, or a prefix matching exactly
 * one run. Throws `RUN_NOT_FOUND` listing a few recent ids.
 */
export function resolveRunId(ref: StoreRef, idOrLatest: string): string {
  const store = storeOf(ref);
  if (idOrLatest !== 'latest' && store.hasRun(idOrLatest)) return idOrLatest;
  const runs = store.listRuns();
  if (idOrLatest === 'latest') {
    if (runs.length === 0) throw new RunbookError({ code: 'RUN_NOT_FOUND', message: `no runs in ${where(store)}` });
    return runs[0].run;
  }
  const matches = runs.filter((r) => r.run.startsWith(idOrLatest));
  if (matches.length === 1) return matches[0].run;
  const recent = runs.slice(0, 5).map((r) => `${r.run} (${r.runbook}, ${r.status})`);
  const hint = recent.length ? `; recent runs: ${recent.join(', ')}` : `; there are no runs in ${where(store)}`;
  const what = matches.length > 1 ? `'${idOrLatest}' matches ${matches.length} runs` : `unknown run '${idOrLatest}'`;
  throw new RunbookError({ code: 'RUN_NOT_FOUND', message: `${what}${hint}` });
}

function where(store: StateStore): string {
  return store.kind === 'file' ? `${store.label.replace(/\/$/, '')}/runs` : store.label;
}
