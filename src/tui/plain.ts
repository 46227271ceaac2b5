/**
 * The `--no-tui` view: one readable, timestamped line per thing that happened. A pure function of the
 * event stream, like the TUI. Must not import ink or react: plain runs must not pay ~0.6 s for them.
 */
import type { RunEvent, StepStatus } from '../interpreter/events.js';
import { treeDepth } from '../interpreter/address-tree.js';
import { terminalEvent } from '../util/terminal-text.js';
import { STEP_SYMBOL, RUN_SYMBOL, describeStatus, formatBudget, formatClock, formatDuration, formatProgress, splitLines } from './format.js';
import { PollStreaks, type PollLine } from './poll-streaks.js';
import { formatCounts } from './views.js';
import { itemText } from './state-steps.js';

export interface PlainOptions {
  /** ANSI colours (the CLI decides with `colorLevel`: a terminal, `NO_COLOR`, `FORCE_COLOR`). */
  color?: boolean;
  /** stdout is a terminal: a run of identical poll errors is one line rewritten in place. */
  live?: boolean;
  /** Also print progress updates and the planned outline. */
  verbose?: boolean;
  /** Clock for events without a usable `ts`; lines are stamped with the event's own `ts`. */
  now?: () => Date;
}

type Paint = (code: number, text: string) => string;

const GREEN = 32;
const RED = 31;
const YELLOW = 33;
const CYAN = 36;
const DIM = 2;
const BOLD = 1;

const STATUS_COLOR: Record<string, number> = {
  succeeded: GREEN,
  failed: RED,
  timed_out: RED,
  skipped: DIM,
  cancelled: YELLOW,
  running: CYAN,
  pending: DIM,
  rolled_back: YELLOW,
  rollback_failed: RED,
  aborted: YELLOW,
};

/** Moves the cursor to the start of the line above and clears it: the next line replaces it. */
const REWRITE = '\x1b[1A\x1b[2K';

/** Returns the listener to pass every event to; `write` receives whole lines without a newline. */
export function createPlainPrinter(write: (line: string) => void, opts: PlainOptions = {}): (event: RunEvent) => void {
  const paint: Paint = opts.color ? (code, text) => `\x1b[${code}m${text}\x1b[0m` : (_code, text) => text;
  const now = opts.now ?? (() => new Date());
  let runStart: number | undefined;
  let rtoMs: number | undefined;
  let rollingBack = false;
  const maxAttempts = new Map<string, number>();
  const wheres = new Map<string, string>();
  // first starts of phases: after a resume, a phase is timed from when it first started
  const phaseStarts = new Map<string, number>();
  let resumed = false;
  const polls = new PollStreaks();
  // what the last written line was, so a live poll line can replace itself
  let lastPollLine: string | undefined;
  const emit = (text: string) => {
    lastPollLine = undefined;
    write(text);
  };
  const outputLine = (ts: string, step: string, body: string) => `${ts}   │ ${paint(DIM, `[${step}]`)} ${body}`;
  const pollLine = (p: PollLine, replace: boolean) => {
    write(`${replace ? REWRITE : ''}${outputLine(stampOf(p.ts), p.step, paint(DIM, p.text))}`);
    lastPollLine = p.step;
  };
  const stampOf = (iso: string): string => {
    const t = Date.parse(iso);
    return paint(DIM, formatClock(Number.isNaN(t) ? now() : new Date(t)));
  };
  const endPolls = (step: string) => {
    const ended = polls.end(step);
    if (ended && !opts.live) pollLine(ended, false);
  };

  const status = (st: string): string => paint(STATUS_COLOR[st] ?? 0, describeStatus(st));
  const symbol = (st: StepStatus): string => paint(STATUS_COLOR[st] ?? 0, STEP_SYMBOL[st] ?? '?');
  const rtoNote = (e: RunEvent): string => {
    if (runStart === undefined || !rtoMs) return '';
    const elapsed = Date.parse(e.ts) - runStart;
    if (Number.isNaN(elapsed)) return '';
    const pct = Math.round((elapsed / rtoMs) * 100);
    const text = `RTO ${formatDuration(elapsed)} / ${formatBudget(rtoMs)} (${pct}%)`;
    return ` · ${elapsed > rtoMs ? paint(RED, text) : pct > 80 ? paint(YELLOW, text) : text}`;
  };

  return (event: RunEvent) => {
    const e = terminalEvent(event);
    const ts = stampOf(e.ts);
    const line = (text: string) => emit(`${ts} ${text}`);
    // another line of the step ends its run of identical polls (progress is not a line unless verbose)
    if (e.type !== 'step.output' && !(e.type === 'step.progress' && !opts.verbose) && 'step' in e && e.step) endPolls(e.step);
    switch (e.type) {
      case 'run.started': {
        runStart = Date.parse(e.ts);
        rtoMs = e.objectives?.rto_ms;
        for (const p of e.outline) for (const s of p.steps) if (s.where) wheres.set(s.id, s.where);
        const title = e.title ? ` — ${e.title}` : '';
        const sev = e.severity ? ` [${e.severity}]` : '';
        const rto = rtoMs ? ` · RTO ${formatBudget(rtoMs)}` : '';
        const flags = `${e.dry_run ? ' · DRY RUN' : ''}${e.drill ? ' · DRILL' : ''}${e.resumed ? ' · resumed' : ''}`;
        line(paint(BOLD, `▶ run ${e.runbook}${title}${sev}`) + ` · run ${e.run}${rto} · ${e.user}@${e.host}${flags}`);
        if (opts.verbose) {
          for (const p of e.outline) {
            emit(`${ts}   phase ${p.id}${p.budget_ms ? ` (budget ${formatBudget(p.budget_ms)})` : ''}: ${p.steps.map((s) => s.id).join(', ')}`);
          }
        }
        return;
      }
      case 'run.resumed': {
        resumed = true;
        const inflight = e.inflight.map((i) => `${i.step} → ${i.decision}`).join(', ');
        line(`↻ resumed by pid ${e.pid}${inflight ? ` · in flight: ${inflight}` : ''}`);
        return;
      }
      case 'phase.started': {
        if (!phaseStarts.has(e.phase)) phaseStarts.set(e.phase, Date.parse(e.ts));
        const title = e.title ? ` — ${e.title}` : '';
        const budget = e.budget_ms ? ` (budget ${formatBudget(e.budget_ms)})` : '';
        line(phaseIndent(e.phase) + paint(CYAN, `▶ phase ${e.phase}`) + `${title}${budget}`);
        return;
      }
      case 'phase.finished': {
        const nested = e.phase.includes('/');
        const first = phaseStarts.get(e.phase);
        phaseStarts.delete(e.phase);
        const since = first === undefined ? NaN : Date.parse(e.ts) - first;
        const duration = resumed && !Number.isNaN(since) ? Math.max(e.duration_ms, since) : e.duration_ms;
        let budget = '';
        if (e.budget_ms) {
          const over = duration - e.budget_ms;
          budget = ` / budget ${formatBudget(e.budget_ms)} ` + (e.within_budget === false || over > 0 ? paint(RED, `over by ${formatDuration(over)}`) : paint(GREEN, '✓'));
        }
        line(phaseIndent(e.phase) + paint(CYAN, `■ phase ${e.phase}`) + ` ${status(e.status)} in ${formatDuration(duration)}${budget}${nested ? '' : rtoNote(e)}`);
        return;
      }
      case 'step.started': {
        if (e.max_attempts) maxAttempts.set(e.step, e.max_attempts);
        const indent = '  '.repeat(1 + treeDepth(e.step));
        const title = e.title ? ` — ${e.title}` : '';
        const type = e.step_type ? ` (${e.step_type})` : '';
        const item = describeItem(e);
        const attempt = e.max_attempts ? ` attempt ${e.attempt}/${e.max_attempts}` : ` attempt ${e.attempt}`;
        line(`${indent}${paint(CYAN, '▶')} ${e.step}${title}${type}${item}${attempt}`);
        return;
      }
      case 'step.output':
        for (const text of splitLines(e.text)) {
          const seen = e.stream === 'info' ? polls.see(e.step, text, e.ts) : { ended: polls.end(e.step) };
          if (seen.repeat) {
            if (opts.live) pollLine(seen.repeat, lastPollLine === e.step);
            continue;
          }
          if (seen.ended && !opts.live) pollLine(seen.ended, false);
          const body = e.stream === 'stderr' ? paint(YELLOW, text) : e.stream === 'info' ? paint(DIM, text) : text;
          emit(outputLine(ts, e.step, body));
        }
        return;
      case 'step.output_truncated':
        emit(outputLine(ts, e.step, paint(DIM, `… ${e.bytes} more bytes of ${e.stream} not journaled (output_limit)`)));
        return;
      case 'step.progress':
        if (opts.verbose) emit(outputLine(ts, e.step, formatProgress(e)));
        return;
      case 'log':
        for (const text of splitLines(e.text)) line(`  ✎ ${e.step}: ${text}`);
        return;
      case 'step.finished': {
        const indent = '  '.repeat(1 + treeDepth(e.step));
        const max = maxAttempts.get(e.step);
        const attempts = e.attempts > 1 ? ` after ${e.attempts}${max ? `/${max}` : ''} attempts` : '';
        const failed = e.status === 'failed' || e.status === 'timed_out';
        const where = failed ? (e.where ?? wheres.get(e.step)) : undefined;
        const error = e.error ? `: ${failed ? paint(RED, e.error) : e.error}` : '';
        const items = e.items ? ` · ${e.on ? 'hosts' : 'items'}: ${formatCounts(e.items)}` : '';
        line(`${indent}${symbol(e.status)} ${e.step} ${status(e.status)} in ${formatDuration(e.duration_ms)}${attempts}${items}${error}${where ? ` (${where})` : ''}`);
        return;
      }
      case 'rollback.started':
        if (!rollingBack) {
          rollingBack = true;
          line(paint(YELLOW, '↺ rolling back'));
        }
        line(`${'  '.repeat(1 + treeDepth(e.step))}${paint(YELLOW, '↺')} rollback ${e.step}`);
        return;
      case 'rollback.finished': {
        const took = e.duration_ms !== undefined ? ` in ${formatDuration(e.duration_ms)}` : '';
        line(`${'  '.repeat(1 + treeDepth(e.step))}${symbol(e.status)} rollback ${e.step} ${status(e.status)}${took}${e.error ? `: ${paint(RED, e.error)}` : ''}`);
        return;
      }
      case 'approval':
        line(`? ${e.step}: ${paint(BOLD, e.decision)} by ${e.by}${e.message ? ` — ${e.message}` : ''}`);
        return;
      case 'warning':
        line(paint(YELLOW, `⚠ ${e.code}: ${e.message}`));
        return;
      case 'run.finished': {
        if (!opts.live) for (const p of polls.endAll()) pollLine(p, false);
        const sym = paint(STATUS_COLOR[e.status] ?? 0, RUN_SYMBOL[e.status] ?? '■');
        let rto = '';
        const objective = e.rto_ms ?? rtoMs;
        if (objective) rto = ` / RTO ${formatBudget(objective)} ` + (e.rto_met === false || e.duration_ms > objective ? paint(RED, 'missed') : paint(GREEN, 'met'));
        line(`${sym} run ${paint(BOLD, describeStatus(e.status))} in ${formatDuration(e.duration_ms)}${rto}${e.error ? ` — ${e.error}` : ''}`);
        return;
      }
    }
  };
}

/** The item an instance works on: its value (v2, the address already has the index), or `[item N]` (v1). */
function describeItem(e: { step: string; index?: number; item?: unknown; host?: string }): string {
  if (e.step.endsWith(']')) {
    const text = itemText(e.item ?? e.host);
    return text === undefined ? '' : ` · ${e.host !== undefined ? 'host' : 'item'} ${text}`;
  }
  return e.index !== undefined && !e.step.includes('[') ? ` [item ${e.index}]` : '';
}

/** A sub-runbook's phase (`restart-each[1]/cycle`) is indented under the step instance that runs it. */
function phaseIndent(phase: string): string {
  const slash = phase.lastIndexOf('/');
  return slash < 0 ? '' : '  '.repeat(2 + treeDepth(phase.slice(0, slash)));
}
