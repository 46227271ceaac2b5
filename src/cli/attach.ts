/**
 * `runbook attach <run-id|latest>` (spec §10): follow a live run from any terminal that reaches its
 * store — the TUI, plain lines or `--json`. The events so far first, then live ones, until
 * `run.finished`. Read-only: it takes no lock and writes nothing, so any number may attach at once.
 * Exits with the run's exit code, or 1 when the run stopped without finishing (its runner died).
 */
import type { RunEvent, RunStatus } from '../interpreter/events.js';
import { EXIT, exitCodeOf, safeUser } from '../interpreter/run.js';
import { resolveRunId } from '../report/read.js';
import { createPlainPrinter } from '../tui/plain.js';
import { openOrReport } from './run.js';
import { guardTerminal } from './terminal.js';
import { loadWithColorLevel, outputColorLevel } from './color.js';

export interface AttachOptions {
  state?: string;
  stateDir?: string;
  json?: boolean;
  tui?: boolean;
  /** `--color` / `--no-color` (undefined: the config file, RUNBOOK_COLOR, then the conventions). */
  color?: boolean;
}

export async function attachCommand(idArg: string, opts: AttachOptions): Promise<number> {
  const store = await openOrReport(opts, { readOnly: true });
  if (!store) return EXIT.invalid;
  try {
    let runId: string;
    try {
      runId = resolveRunId(store, idArg);
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\n`);
      return EXIT.invalid;
    }
    const term = guardTerminal(() => runId);
    const useTui = !opts.json && opts.tui !== false && !!process.stdout.isTTY;
    let show: (e: RunEvent) => void;
    let tui: Awaited<ReturnType<typeof import('../tui/index.js').startTui>> | undefined;
    if (opts.json) show = (e) => term.write(JSON.stringify(e) + '\n');
    else if (useTui) {
      const { startTui } = await loadWithColorLevel(outputColorLevel(opts.color), () => import('../tui/index.js'));
      // Nobody answers prompts from here: an attached view only watches.
      tui = await startTui({ stepMode: false, yes: false, user: safeUser() });
      show = (e) => tui!.push(e);
    } else show = createPlainPrinter((line) => term.write(line + '\n'), { color: outputColorLevel(opts.color) > 0 });

    let status: RunStatus | undefined;
    let stale: string | undefined;
    const stop = new AbortController();
    const onInt = () => stop.abort();
    process.on('SIGINT', onInt);
    tui?.onInterrupt(onInt);
    try {
      await store.follow(
        runId,
        (e) => {
          if (e.type === 'run.finished') status = e.status;
          show(e);
        },
        { signal: stop.signal, onStale: (m) => (stale = m) },
      );
    } finally {
      process.off('SIGINT', onInt);
      await tui?.finish({});
      term.dispose();
    }
    if (status) return exitCodeOf(status);
    if (stale) process.stderr.write(`runbook: run ${runId}: ${stale.replace('`runbook resume`', `runbook resume ${runId}`)}\n`);
    return stop.signal.aborted ? EXIT.aborted : 1;
  } finally {
    store.close();
  }
}
