/** `runbook report <run-id|latest>` and `runbook history [runbook-id]`. */
import { REPORT_FORMATS, renderReport, type ReportFormat } from '../report/index.js';
import { listRuns, readRunEvents, resolveRunId } from '../report/read.js';
import { formatDuration } from '../dsl/duration.js';
import { openOrReport, writeAtomic } from './run.js';
import { comparePlan, readSavedPlan } from '../report/plan-accuracy.js';
import { FileStore } from '../state/file/index.js';
import type { StateStore } from '../state/types.js';

/** The plan a run kept (local store only), for the report's "Plan Against Actual". */
const savedPlan = (store: StateStore, runId: string) => (store instanceof FileStore ? readSavedPlan(store.dir, runId) : undefined);

export async function reportCommand(id: string, opts: { format?: string; output?: string; stateDir?: string; state?: string }): Promise<number> {
  const format = (opts.format ?? 'md') as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) {
    process.stderr.write(`unknown format '${opts.format}' (one of ${REPORT_FORMATS.join(', ')})\n`);
    return 2;
  }
  const store = await openOrReport(opts, { readOnly: true });
  if (!store) return 2;
  let text: string;
  try {
    const runId = resolveRunId(store, id);
    text = renderReport(readRunEvents(store, runId), format, { plan: savedPlan(store, runId) });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  } finally {
    store.close();
  }
  if (opts.output) writeAtomic(opts.output, text);
  else process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  return 0;
}

export async function historyCommand(runbookId: string | undefined, opts: { json?: boolean; stateDir?: string; state?: string; limit?: string; accuracy?: boolean }): Promise<number> {
  const limit = opts.limit === undefined ? 50 : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    process.stderr.write(`runbook: --limit ${opts.limit}: expected a whole number of runs, at least 1\n`);
    return 2;
  }
  const store = await openOrReport(opts, { readOnly: true });
  if (!store) return 2;
  let runs;
  try {
    runs = listRuns(store, runbookId).slice(0, limit);
    if (opts.accuracy) return accuracy(store, runs, opts.json);
  } catch (e) {
    process.stderr.write(`runbook: ${store.label}: ${(e as Error).message}\n`);
    return 2;
  } finally {
    store.close();
  }
  if (opts.json) {
    process.stdout.write(JSON.stringify(runs, null, 2) + '\n');
    return 0;
  }
  if (!runs.length) {
    process.stdout.write(`no runs${runbookId ? ` of '${runbookId}'` : ''} in ${store.label}\n`);
    return 0;
  }
  const rows = runs.map((r) => [
    r.run,
    r.runbook,
    r.started_at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    r.duration_ms === undefined || r.duration_ms === null ? '—' : formatDuration(r.duration_ms),
    r.dry_run ? `${r.status} (dry run)` : r.drill ? `${r.status} (drill)` : r.status,
    r.rto_met === null || r.rto_met === undefined ? '—' : r.rto_met ? `met (${formatDuration(r.rto_ms ?? 0)})` : `missed (${formatDuration(r.rto_ms ?? 0)})`,
  ]);
  const head = ['RUN', 'RUNBOOK', 'STARTED', 'DURATION', 'STATUS', 'RTO'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  for (const r of [head, ...rows]) process.stdout.write(r.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd() + '\n');
  return 0;
}

/**
 * `history --accuracy`: predicted against actual run duration of each finished run that kept its
 * plan, and the mean absolute error. A prediction with steps of unknown duration is listed but not
 * counted (it was a lower bound, not a prediction).
 */
function accuracy(store: StateStore, runs: ReturnType<typeof listRuns>, json?: boolean): number {
  const rows = runs.flatMap((r) => {
    const plan = r.status === 'incomplete' ? undefined : savedPlan(store, r.run);
    if (!plan) return [];
    const c = comparePlan(plan, readRunEvents(store, r.run));
    return [{ run: r.run, runbook: r.runbook, dry_run: r.dry_run, ...c.run }];
  });
  const counted = rows.filter((r) => r.complete && r.error_pct !== null && !r.dry_run);
  const mean = (xs: number[]) => (xs.length ? Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10 : null);
  const summary = { runs: rows.length, counted: counted.length, mean_abs_error_pct: mean(counted.map((r) => r.error_pct!)), mean_abs_error_ms: mean(counted.map((r) => Math.abs(r.error_ms!))) };
  if (json) {
    process.stdout.write(JSON.stringify({ ...summary, rows }, null, 2) + '\n');
    return 0;
  }
  if (!rows.length) {
    process.stdout.write(`no finished runs with a saved plan in ${store.label}\n`);
    return 0;
  }
  const d = (ms: number | null) => (ms === null ? '—' : formatDuration(Math.abs(ms)));
  const table = rows.map((r) => [r.run, r.runbook, `${r.complete ? '' : '≥ '}${d(r.predicted_ms)}`, d(r.actual_ms), !r.complete ? 'not comparable' : r.error_ms === null ? '—' : `${r.error_ms >= 0 ? '+' : '−'}${d(r.error_ms)} (${r.error_pct}%)`, r.dry_run ? 'dry run' : '']);
  const head = ['RUN', 'RUNBOOK', 'PREDICTED', 'ACTUAL', 'ERROR', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  for (const t of [head, ...table]) process.stdout.write(t.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd() + '\n');
  process.stdout.write(summary.counted ? `mean absolute error ${summary.mean_abs_error_pct}% (${formatDuration(summary.mean_abs_error_ms!)}) over ${summary.counted} run${summary.counted === 1 ? '' : 's'} with a complete prediction\n` : 'no run had a complete prediction (add estimate: to steps, or let history build up)\n');
  return 0;
}
