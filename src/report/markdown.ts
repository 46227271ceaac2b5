/**
 * The incident report in Markdown (a "DR drill report" for `run --drill`), keeping the sections of the
 * DR guide's "Incident Report Template": Summary, Timeline, Recovery Actions Taken and Metrics filled
 * from the journal; Root Cause Analysis, Action Items, Lessons Learned and Prevention Measures left as
 * headed places for people to write (see `post-mortem.ts`). Between them, what a runbook run knows more
 * precisely: phase budgets, rollbacks, operator decisions, notes, warnings and params. Steps appear by
 * their instance address (spec §8). Deterministic: the current time appears only when `now` is passed.
 */
import { formatItemCounts } from './collect.js';
import { terminalText } from '../util/terminal-text.js';
import { formatDuration, formatOffset, formatUtc, msBetween } from './format.js';
import { postMortemSections, rootCauseSection } from './post-mortem.js';
import type { PhaseReport, RunReport, TimelineEntry } from './types.js';

const MAX_CELL = 300;

const TITLE: Record<RunReport['run']['kind'], string> = { incident: 'Incident Report', drill: 'DR Drill Report', dry_run: 'Dry Run Report' };

export function renderMarkdown(r: RunReport, opts: { now?: Date; planSection?: string[] } = {}): string {
  const out: string[] = [];
  // a dry run changed nothing: there is no incident to analyse
  const postMortem = r.run.kind !== 'dry_run';
  out.push(`# ${TITLE[r.run.kind]}: ${inline(r.run.title ?? r.run.runbook)}`, '');
  out.push('## Summary', '', ...table(['Field', 'Value'], summaryRows(r, opts.now)), '');
  out.push('## Timeline', '', ...table(['Time', 'Phase', 'Step', 'Event', 'Status', 'Duration', 'Note'], r.timeline.map(timelineRow)), '');
  if (postMortem) out.push(...rootCauseSection());
  out.push('## Recovery Actions Taken', '', ...orNone(recoveryActions(r)), '');
  out.push('## Metrics', '', ...metrics(r), '');
  out.push('## Phase Budgets', '', ...orNone(r.phases.length ? table(['Phase', 'Title', 'Status', 'Duration', 'Budget', 'Result'], r.phases.map(phaseRow)) : []), '');
  out.push('## Rollbacks Performed', '', ...orNone(rollbackRows(r)), '');
  out.push('## Operator Decisions', '', ...orNone(decisionRows(r)), '');
  out.push('## Notes', '', ...orNone(r.notes.map((n) => `- ${formatOffset(n.offset_ms)} \`${n.step}\`: ${inline(n.text)}`)), '');
  out.push('## Warnings', '', ...orNone(warningRows(r)), '');
  // Plan against actual (src/report/plan-accuracy.ts), when the run kept its plan.
  if (opts.planSection) out.push(...opts.planSection);
  if (Object.keys(r.measures).length) out.push('## Measures', '', ...table(['Name', 'Value'], Object.entries(r.measures).map(([k, v]) => [k, value(v)])), '');
  out.push('## Parameters', '', ...orNone(Object.keys(r.params).length ? table(['Name', 'Value'], Object.entries(r.params).map(([k, v]) => [k, value(v)])) : []), '');
  if (postMortem) out.push(...postMortemSections());
  if (opts.now) out.push('---', '', `_Generated ${formatUtc(opts.now.toISOString())} by runbook._`, '');
  return out.join('\n');
}

function summaryRows(r: RunReport, now?: Date): string[][] {
  const rows: string[][] = [
    ['Runbook', r.run.runbook],
    ['Severity', r.run.severity ?? '—'],
    ['Run', r.run.id],
    ['Mode', MODE[r.run.kind]],
    ['Started', formatUtc(r.run.started_at)],
    ['Finished', r.run.finished_at ? formatUtc(r.run.finished_at) : '— (incomplete)'],
    ['Duration', durationCell(r, now)],
    ['Status', statusCell(r.run.status)],
    ['RTO', rtoCell(r)],
    ['RPO', rpoCell(r)],
    ['Data loss', r.rpo.data_loss],
    ['Operator', `${r.run.user}@${r.run.host}`],
    ['File', r.run.file],
  ];
  if (r.run.kind !== 'dry_run') rows.push(['Impact', '_To be written: customer impact, revenue impact, affected services._']);
  if (r.run.resumes) rows.push(['Resumed', `${r.run.resumes} time${r.run.resumes > 1 ? 's' : ''}`]);
  if (r.run.error) rows.push(['Error', r.run.error]);
  return rows;
}

const MODE: Record<RunReport['run']['kind'], string> = { incident: 'incident', drill: 'DR drill (a real run)', dry_run: 'dry run (nothing was changed)' };

/** The guide's Metrics: RTO and RPO achieved against their objectives, and data loss. */
function metrics(r: RunReport): string[] {
  return [`- **RTO Achieved**: ${rtoCell(r)}`, `- **RPO Achieved**: ${rpoCell(r)}`, `- **Data Loss**: ${r.rpo.data_loss}`];
}

function durationCell(r: RunReport, now?: Date): string {
  if (r.run.duration_ms !== undefined) return formatDuration(r.run.duration_ms);
  if (now) return `${formatDuration(msBetween(r.run.started_at, now.toISOString()))} so far`;
  return '—';
}

function statusCell(status: string): string {
  if (status === 'succeeded') return '✅ succeeded';
  if (status === 'incomplete') return '⚠️ incomplete (no run.finished: still running or the process died)';
  if (status === 'rollback_failed') return '❌ rollback_failed — a human must act';
  return `❌ ${status}`;
}

function rtoCell(r: RunReport): string {
  const objective = r.rto.objective_ms === undefined ? 'no objective' : `objective ${formatDuration(r.rto.objective_ms)}`;
  const achieved = r.rto.achieved_ms === undefined ? (r.run.status === 'incomplete' ? 'not achieved yet' : 'not achieved') : formatDuration(r.rto.achieved_ms);
  return `${icon(r.rto.met)}${achieved} (${objective})`;
}

function rpoCell(r: RunReport): string {
  const objective = r.rpo.objective_ms === undefined ? 'no objective' : `objective ${formatDuration(r.rpo.objective_ms)}`;
  const measured = r.rpo.measured_ms === undefined ? 'not measured' : formatDuration(r.rpo.measured_ms);
  return `${icon(r.rpo.met)}${measured} (${objective})`;
}

function icon(met: boolean | null): string {
  return met === true ? '✅ ' : met === false ? '❌ ' : '';
}

function timelineRow(e: TimelineEntry): string[] {
  return [formatOffset(e.offset_ms), e.phase ?? '', e.step ?? '', e.event, e.status ?? '', e.duration_ms === undefined ? '' : formatDuration(e.duration_ms), e.note ?? ''];
}

/**
 * What was done, in order of start: every top-level step that succeeded, and every for_each step any
 * of whose items succeeded (with its item counts). Instances and sub-steps are in the timeline.
 */
function recoveryActions(r: RunReport): string[] {
  return r.steps
    .filter((s) => s.depth === 0 && (s.status === 'succeeded' || (s.items?.succeeded ?? 0) > 0))
    .map((s, i) => {
      const when = s.start_offset_ms === undefined ? '' : `${formatOffset(s.start_offset_ms)} — `;
      const items = s.items ? `${s.hosts ? 'hosts' : 'items'}: ${formatItemCounts(s.items)}` : undefined;
      const detail = [s.phase, s.duration_ms === undefined ? undefined : formatDuration(s.duration_ms), items].filter(Boolean).join(', ');
      const name = s.title ? `${inline(s.title)} (\`${s.id}\`, ${detail})` : `\`${s.id}\` (${detail})`;
      const undone = s.rollback === 'succeeded' ? ' — rolled back' : s.rollback ? ` — rollback ${s.rollback}` : '';
      return `${i + 1}. ${when}${name}${undone}`;
    });
}

function phaseRow(p: PhaseReport): string[] {
  const over = p.duration_ms !== undefined && p.budget_ms !== undefined ? p.duration_ms - p.budget_ms : undefined;
  const result =
    p.within_budget === true ? '✅ within' : p.within_budget === false ? `❌ over${over !== undefined && over > 0 ? ` by ${formatDuration(over)}` : ''}` : '—';
  return [
    p.id,
    p.title ?? '',
    p.status,
    p.duration_ms === undefined ? '—' : formatDuration(p.duration_ms),
    p.budget_ms === undefined ? '—' : formatDuration(p.budget_ms),
    result,
  ];
}

function rollbackRows(r: RunReport): string[] {
  if (!r.rollbacks.length) return [];
  return table(
    ['Time', 'Step', 'Phase', 'Status', 'Duration', 'Error'],
    r.rollbacks.map((b) => [formatOffset(b.start_offset_ms), b.step, b.phase ?? '', b.status, b.duration_ms === undefined ? '' : formatDuration(b.duration_ms), b.error ?? '']),
  );
}

function decisionRows(r: RunReport): string[] {
  if (!r.decisions.length) return [];
  return table(['Time', 'Step', 'Decision', 'By', 'Message'], r.decisions.map((d) => [formatOffset(d.offset_ms), d.step, d.decision, d.by, d.message ?? '']));
}

function warningRows(r: RunReport): string[] {
  if (!r.warnings.length) return [];
  return table(['Time', 'Code', 'Phase', 'Step', 'Message'], r.warnings.map((w) => [formatOffset(w.offset_ms), w.code, w.phase ?? '', w.step ?? '', w.message]));
}

function table(head: string[], rows: string[][]): string[] {
  return [row(head), row(head.map(() => '---')), ...rows.map(row)];
}

function row(cells: string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

/** A table cell: `|` escaped, `<` neutralised, newlines as `<br>`, long text cut. */
export function cell(text: string): string {
  const t = text.length > MAX_CELL ? `${text.slice(0, MAX_CELL)}…` : text;
  return terminalText(t.replace(/\r\n/g, '\n')).replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/\r?\n/g, '<br>');
}

/** Text on one line outside tables (headings, list items), `<` neutralised so it is not read as HTML. */
function inline(text: string): string {
  return terminalText(text.replace(/\r\n/g, '\n')).replace(/</g, '&lt;').replace(/\s*\r?\n\s*/g, ' ');
}

function value(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function orNone(lines: string[]): string[] {
  return lines.length ? lines : ['_None._'];
}
