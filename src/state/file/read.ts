/**
 * Reading runs back from a state dir: `<stateDir>/runs/<runId>/journal.jsonl`, one event a line.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunbookError } from '../../dsl/errors.js';
import type { RunEvent, RunFinishedEvent, RunStartedEvent } from '../../interpreter/events.js';
import { newestFirst, summarizeRun, type RunSummary } from '../summary.js';

export function journalPath(stateDir: string, runId: string): string {
  return join(stateDir, 'runs', runId, 'journal.jsonl');
}

/** A run id is one folder name: never let `../x` reach a journal outside `<stateDir>/runs`. */
export function isPlainRunId(id: string): boolean {
  return id !== '' && !/[\\/]/.test(id) && id !== '.' && id !== '..';
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
export function readFileRun(stateDir: string, runId: string): RunEvent[] {
  const file = journalPath(stateDir, runId);
  let text: string;
  try {
    if (!isPlainRunId(runId)) throw Object.assign(new Error('not a run id'), { code: 'ENOENT' });
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new RunbookError({ code: 'RUN_NOT_FOUND', message: `no journal for run '${runId}': ${file} does not exist`, file });
  }
  return parseJournal(text, file);
}

export function hasFileRun(stateDir: string, runId: string): boolean {
  return isPlainRunId(runId) && existsSync(journalPath(stateDir, runId));
}

/** Every run in the state dir (of one runbook when given), newest `run.started` first. */
export function listFileRuns(stateDir: string, runbookId?: string): RunSummary[] {
  const runs: RunSummary[] = [];
  for (const id of runIds(stateDir)) {
    const summary = summarizeJournal(stateDir, id);
    if (summary && (runbookId === undefined || summary.runbook === runbookId)) runs.push(summary);
  }
  return runs.sort(newestFirst);
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
  return started ? summarizeRun(runId, started, finished) : undefined;
}
