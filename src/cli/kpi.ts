/** `runbook stats` (the guide's KPIs from history) and `runbook drills` (the testing schedule against history). */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDuration } from '../dsl/duration.js';
import { drillStatuses, DrillsError, loadDrills, type DrillStatus } from '../report/drills.js';
import { readRunRecords } from '../report/run-records.js';
import { computeStats } from '../report/stats.js';
import { renderStatsPrometheus } from '../report/stats-prometheus.js';
import { printDiagnostics } from './output.js';
import { openOrReport } from './run.js';
import type { StoreRef } from '../report/read.js';
import { renderDrillsText, renderStatsText } from './kpi-text.js';
import { writeAtomic } from './run.js';

export const DEFAULT_DRILLS_FILE = 'drills.yaml';

export interface StatsCliOptions {
  since?: string;
  runbook?: string;
  json?: boolean;
  format?: string;
  output?: string;
  drills?: string;
  stateDir?: string;
  state?: string;
}

function fail(message: string): number {
  process.stderr.write(`runbook: ${message}\n`);
  return 2;
}

/** The drills file's statuses; undefined when the default file is absent (an explicit one must exist). */
function readDrills(file: string | undefined, stateDir: StoreRef, nowMs: number, runbook?: string): DrillStatus[] | undefined {
  const path = resolve(file ?? DEFAULT_DRILLS_FILE);
  if (!file && !existsSync(path)) return undefined;
  const drills = loadDrills(path).filter((d) => !runbook || d.runbook === runbook);
  return drillStatuses(drills, readRunRecords(stateDir, { runbook }), nowMs);
}

function emit(text: string, output?: string): number {
  if (output) writeAtomic(output, text);
  else process.stdout.write(text);
  return 0;
}

function reportDrillsError(e: unknown): number {
  if (e instanceof DrillsError) {
    printDiagnostics(e.diagnostics);
    return 2;
  }
  return fail((e as Error).message);
}

export async function statsCommand(opts: StatsCliOptions): Promise<number> {
  const format = opts.json ? 'json' : (opts.format ?? 'text');
  if (!['text', 'json', 'prometheus'].includes(format)) return fail(`unknown format '${format}' (one of text, json, prometheus)`);
  const since = opts.since ?? '90d';
  const windowMs = parseDuration(since);
  if (windowMs === undefined || windowMs <= 0) return fail(`--since '${since}' is not a duration (e.g. 90d, 12h, 30d)`);
  const store = await openOrReport(opts, { readOnly: true });
  if (!store) return 2;
  const now = Date.now();
  const sinceMs = now - windowMs;
  let drills: DrillStatus[] | undefined;
  let records;
  try {
    try {
      drills = readDrills(opts.drills, store, now, opts.runbook);
    } catch (e) {
      return reportDrillsError(e);
    }
    records = readRunRecords(store, { runbook: opts.runbook, sinceMs });
  } finally {
    store.close();
  }
  const stats = computeStats(records, { sinceMs, untilMs: now, runbook: opts.runbook });
  if (format === 'json') return emit(JSON.stringify({ ...stats, ...(drills ? { drills } : {}) }, null, 2) + '\n', opts.output);
  if (format === 'prometheus') return emit(renderStatsPrometheus(stats, drills, now), opts.output);
  const overdue = drills?.filter((d) => d.overdue) ?? [];
  const tail = drills ? `\ndrills: ${overdue.length ? `${overdue.length} overdue (${overdue.map((d) => d.runbook).join(', ')}); see runbook drills` : 'none overdue'}\n` : '';
  return emit(renderStatsText(stats) + tail, opts.output);
}

export async function drillsCommand(opts: { file?: string; json?: boolean; stateDir?: string; state?: string }): Promise<number> {
  const file = opts.file ?? DEFAULT_DRILLS_FILE;
  if (!opts.file && !existsSync(file)) return fail(`no ${DEFAULT_DRILLS_FILE} in ${process.cwd()} (give --file FILE)`);
  const store = await openOrReport(opts, { readOnly: true });
  if (!store) return 2;
  const now = Date.now();
  let drills: DrillStatus[];
  try {
    drills = readDrills(file, store, now)!;
  } catch (e) {
    return reportDrillsError(e);
  } finally {
    store.close();
  }
  if (opts.json) process.stdout.write(JSON.stringify({ as_of: new Date(now).toISOString(), drills }, null, 2) + '\n');
  else process.stdout.write(renderDrillsText(drills, now));
  return 0;
}
