/**
 * Reading runs back from the state dir: `<stateDir>/runs/<runId>/journal.jsonl`, one event a line.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunbookError } from '../dsl/errors.js';
import type { RunEvent, RunFinishedEvent, RunStartedEvent } from '../interpreter/events.js';
import type { ReportRunStatus } from './types.js';

export interface RunSummary {
  run: string;
  runbook: string;
  title?: string;
  severity?: string;
  started_at: string;
  finished_at?: string;
  /** Absent while the run is `incomplete`. */
  duration_ms?: number;
  /** `incomplete`: no `run.finished` — still running, or its process died (see `runbook resume`). */
  status: ReportRunStatus;
  rto_ms?: number;
  rto_met: boolean | null;
  dry_run: boolean;
  /** A real run marked as a DR drill (`run --drill`). */
  drill: boolean;
  file: string;
}

export function journalPath(stateDir: string, runId: string): string {
  return join(stateDir, 'runs', runId, 'journal.jsonl');
}

/**
 * Parse journal text. A last line that does not parse is a write torn by a crash and is dropped
 * (spec §6); a bad line anywhere else is corruption and throws `JOURNAL_CORRUPT` naming `file:line`,
 * unless `lenient` (listing runs should not fail on one bad journal).
 */
export function parseJournal(text: string, file: string, opts: { lenient?: boolean } = {}): RunEvent[] {
  const lines = text.split('\n');
  const events: RunEvent[] = [];
  let last = lines.length - 1;
  while (last >= 0 && lines[last].trim() === '') last--;
  for (let i = 0; i <= last; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    try {
      events.push(JSON.parse(line) as RunEvent);
    } catch {
      if (i === last || opts.lenient) continue;
      throw new RunbookError({ code: 'JOURNAL_CORRUPT', message: `line ${i + 1} is not a JSON event`, file, line: i + 1, col: 1 });
    }
  }
  return events;
}

/** The events of one run, in journal order. Throws `RUN_NOT_FOUND` naming the file when it is missing. */
export function readRunEvents(stateDir: string, runId: string): RunEvent[] {
  const file = journalPath(stateDir, runId);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new RunbookError({ code: 'RUN_NOT_FOUND', message: `no journal for run '${runId}': ${file} does not exist`, file });
  }
  return parseJournal(text, file);
}

/** Every run in the state dir (of one runbook when given), newest `run.started` first. */
export function listRuns(stateDir: string, runbookId?: string): RunSummary[] {
  const runs: RunSummary[] = [];
  for (const id of runIds(stateDir)) {
    const summary = summarizeJournal(stateDir, id);
    if (summary && (runbookId === undefined || summary.runbook === runbookId)) runs.push(summary);
  }
  return runs.sort(
    (a, b) => Date.parse(b.started_at) - Date.parse(a.started_at) || (a.run < b.run ? 1 : a.run > b.run ? -1 : 0),
  );
}

/**
 * `latest` → the newest run of any runbook; otherwise an exact run id, or a prefix matching exactly
 * one run. Throws `RUN_NOT_FOUND` listing a few recent ids.
 */
export function resolveRunId(stateDir: string, idOrLatest: string): string {
  // A run id is one folder name: never let `../x` reach a journal outside `<stateDir>/runs`.
  const plain = !/[\\/]/.test(idOrLatest) && idOrLatest !== '.' && idOrLatest !== '..';
  if (idOrLatest !== 'latest' && plain && existsSync(journalPath(stateDir, idOrLatest))) return idOrLatest;
  const runs = listRuns(stateDir);
  if (idOrLatest === 'latest') {
    if (runs.length === 0) {
      throw new RunbookError({ code: 'RUN_NOT_FOUND', message: `no runs in ${join(stateDir, 'runs')}` });
    }
    return runs[0].run;
  }
  const matches = runs.filter((r) => r.run.startsWith(idOrLatest));
  if (matches.length === 1) return matches[0].run;
  const recent = runs.slice(0, 5).map((r) => `${r.run} (${r.runbook}, ${r.status})`);
  const hint = recent.length ? `; recent runs: ${recent.join(', ')}` : `; there are no runs in ${join(stateDir, 'runs')}`;
  const what = matches.length > 1 ? `'${idOrLatest}' matches ${matches.length} runs` : `unknown run '${idOrLatest}'`;
  throw new RunbookError({ code: 'RUN_NOT_FOUND', message: `${what}${hint}` });
}

function runIds(stateDir: string): string[] {
  try {
    return readdirSync(join(stateDir, 'runs'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

function summarizeJournal(stateDir: string, runId: string): RunSummary | undefined {
  const file = journalPath(stateDir, runId);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // A run folder whose journal is not written yet (or was removed) is not a run to list.
    return undefined;
  }
  let started: RunStartedEvent | undefined;
  let finished: RunFinishedEvent | undefined;
  // Only the run.* lines matter here; skip JSON.parse of the (possibly many) output lines.
  for (const line of text.split('\n')) {
    if (!line.includes('"run.started"') && !line.includes('"run.finished"')) continue;
    let ev: RunEvent;
    try {
      ev = JSON.parse(line) as RunEvent;
    } catch {
      continue;
    }
    if (ev.type === 'run.started' && !started) started = ev;
    else if (ev.type === 'run.finished') finished = ev;
  }
  if (!started) return undefined;
  return {
    run: runId,
    runbook: started.runbook,
    title: started.title,
    severity: started.severity,
    started_at: started.ts,
    finished_at: finished?.ts,
    duration_ms: finished?.duration_ms,
    status: finished?.status ?? 'incomplete',
    rto_ms: finished?.rto_ms,
    rto_met: finished?.rto_met ?? null,
    dry_run: started.dry_run,
    drill: started.drill === true,
    file: started.file,
  };
}
