/**
 * `runbook export <run-id|latest>` writes a run's journal as JSONL (stdout or `-o`), and
 * `runbook import <file.jsonl>` stores such a journal in the chosen store: a run moves between
 * stores (spec §10). An import never merges: a run already in the store is refused.
 */
import { readFileSync } from 'node:fs';
import { RunbookError } from '../dsl/errors.js';
import { parseJournal, readRunEvents, resolveRunId } from '../report/read.js';
import { openOrReport, writeAtomic } from './run.js';

interface StoreOpts {
  state?: string;
  stateDir?: string;
}

export async function exportCommand(idArg: string, opts: StoreOpts & { output?: string }): Promise<number> {
  const store = await openOrReport(opts, { readOnly: true });
  if (!store) return 2;
  let text: string;
  try {
    const events = readRunEvents(store, resolveRunId(store, idArg));
    text = events.map((e) => JSON.stringify(e) + '\n').join('');
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  } finally {
    store.close();
  }
  if (opts.output) writeAtomic(opts.output, text);
  else process.stdout.write(text);
  return 0;
}

export async function importCommand(file: string, opts: StoreOpts): Promise<number> {
  let events;
  try {
    events = parseJournal(readFileSync(file, 'utf8'), file);
    const runs = new Set(events.map((e) => e.run));
    if (!events.length) throw new RunbookError({ code: 'IMPORT', message: `${file}: no events` });
    if (runs.size > 1) throw new RunbookError({ code: 'IMPORT', message: `${file}: events of ${runs.size} runs (${[...runs].slice(0, 3).join(', ')}…); a journal holds one run` });
    if (events[0].type !== 'run.started') throw new RunbookError({ code: 'IMPORT', message: `${file}: the first event is ${events[0].type}, not run.started` });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    process.stderr.write(`runbook: ${err.code === 'ENOENT' ? `${file}: no such file` : err.message}\n`);
    return 2;
  }
  const store = await openOrReport(opts);
  if (!store) return 2;
  try {
    store.importRun(events);
  } catch (e) {
    process.stderr.write(`runbook: ${(e as Error).message}\n`);
    return 2;
  } finally {
    store.close();
  }
  process.stdout.write(`imported run ${events[0].run} (${events.length} events) into ${store.label}\n`);
  return 0;
}
