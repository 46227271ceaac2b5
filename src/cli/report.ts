/** `runbook report <run-id|latest>` and `runbook history [runbook-id]`. */
import { REPORT_FORMATS, renderReport, type ReportFormat } from '../report/index.js';
import { listRuns, readRunEvents, resolveRunId } from '../report/read.js';
import { formatDuration } from '../dsl/duration.js';
import { defaultStateDir } from './output.js';
import { writeAtomic } from './run.js';
import { checkStateDir, StateDirError } from './state-dir.js';
import { comparePlan, readSavedPlan } from '../report/plan-accuracy.js';

/** The state dir to read from, or undefined after printing why it cannot be read (exit 2). */
function readableStateDir(opt: string | undefined): string | undefined {
  const dir = defaultStateDir(opt);
  try {
    checkStateDir(dir, 'read');
    return dir;
  } catch (e) {
    if (!(e instanceof StateDirError)) throw e;
    process.stderr.write(`runbook: ${e.message}\n`);
    return undefined;
  }
}

export function reportCommand(id: string, opts: { format?: string; output?: string; stateDir?: string }): number {
  const format = (opts.format ?? 'md') as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) {
    process.stderr.write(`unknown format '${opts.format}' (one of ${REPORT_FORMATS.join(', ')})\n`);
    return 2;
  }
  const stateDir = readableStateDir(opts.stateDir);
  if (stateDir === undefined) return 2;
  let text: string;
  try {
    const runId = resolveRunId(stateDir, id);
    text = renderReport(readRunEvents(stateDir, runId), format, { plan: readSavedPlan(stateDir, runId) });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  if (opts.output) writeAtomic(opts.output, text);
  else process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  return 0;
}

export function historyCommand(runbookId: string | undefined, opts: { json?: boolean; stateDir?: string; limit?: string; accuracy?: boolean }): number {
  const stateDir = readableStateDir(opts.stateDir);
  if (stateDir === undefined) return 2;
  const limit = opts.limit === undefined ? 50 : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    process.stderr.write(`runbook: --limit ${opts.limit}: expected a whole number of runs, at least 1\n`);
    return 2;
  }
  let runs: ReturnType<typeof listRuns>;
  try {
    runs = listRuns(stateDir, runbookId).slice(0, limit);
  } catch (e) {
    process.stderr.write(`runbook: state dir ${stateDir}: ${(e as Error).message}\n`);
    return 2;
  }
  if (opts.accuracy) return accuracy(stateDir, runs, opts.json);
  if (opts.json) {
    process.stdout.write(JSON.stringify(runs, null, 2) + '\n');
    return 0;
  }
  if (!runs.length) {
    process.stdout.write(`no runs${runbookId ? ` of '${runbookId}'` : ''} in ${stateDir}\n`);
    return 0;
  }
  const rows = runs.map((r) => [
    r.run,
    r.runbook,
    r.started_at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    r.duration_ms === undefined || r.duration_ms === null ? '—' : formatDuration(r.duration_ms),
    r.dry_run ? `${r.status} (dry run)` : r.status,
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
function accuracy(stateDir: string, runs: ReturnType<typeof listRuns>, json?: boolean): number {
  const rows = runs.flatMap((r) => {
    const plan = r.status === 'incomplete' ? undefined : readSavedPlan(stateDir, r.run);
    if (!plan) return [];
    const c = comparePlan(plan, readRunEvents(stateDir, r.run));
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
    process.stdout.write(`no finished runs with a saved plan in ${stateDir}\n`);
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
