/** `runbook report <run-id|latest>` and `runbook history [runbook-id]`. */
import { REPORT_FORMATS, renderReport, type ReportFormat } from '../report/index.js';
import { listRuns, readRunEvents, resolveRunId } from '../report/read.js';
import { formatDuration } from '../dsl/duration.js';
import { openOrReport, writeAtomic } from './run.js';

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
    text = renderReport(readRunEvents(store, resolveRunId(store, id)), format);
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

export async function historyCommand(runbookId: string | undefined, opts: { json?: boolean; stateDir?: string; state?: string; limit?: string }): Promise<number> {
  const store = await openOrReport(opts, { readOnly: true });
  if (!store) return 2;
  let all;
  try {
    all = listRuns(store, runbookId);
  } finally {
    store.close();
  }
  const runs = all.slice(0, opts.limit ? Number(opts.limit) : 50);
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
