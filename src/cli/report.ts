/** `runbook report <run-id|latest>` and `runbook history [runbook-id]`. */
import { REPORT_FORMATS, renderReport, type ReportFormat } from '../report/index.js';
import { listRuns, readRunEvents, resolveRunId } from '../report/read.js';
import { formatDuration } from '../dsl/duration.js';
import { defaultStateDir } from './output.js';
import { writeAtomic } from './run.js';
import { checkStateDir, StateDirError } from './state-dir.js';

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
    text = renderReport(readRunEvents(stateDir, resolveRunId(stateDir, id)), format);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  if (opts.output) writeAtomic(opts.output, text);
  else process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  return 0;
}

export function historyCommand(runbookId: string | undefined, opts: { json?: boolean; stateDir?: string; limit?: string }): number {
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
