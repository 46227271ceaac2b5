/** The human rendering of a plan (`runbook plan` without --json). */
import type { Plan, PlannedBody, PlannedStep } from '../interpreter/plan.js';
import { formatDuration } from '../dsl/duration.js';
import { stringifyValue } from '../dsl/expr/index.js';

const d = (ms: number | undefined | null) => (ms === undefined || ms === null ? '—' : formatDuration(ms));
const verdict = (ok: boolean | null) => (ok === null ? '' : ok ? ' ✓' : ' ✗ over');
const count = (n: number) => `${n} step${n === 1 ? '' : 's'}`;
const TIMEOUT_NOTE = { step: '', default: ' (default)', approve: " (the approval's own)", none: '' } as const;

export function renderPlanText(plan: Plan, indent = ''): string {
  const out: string[] = [];
  const line = (s = '') => out.push(s ? indent + s : '');
  const o = plan.objectives;
  line(`Plan: ${plan.runbook}${plan.title ? ` — ${plan.title}` : ''}`);
  line(
    `  ${[plan.severity && `severity ${plan.severity}`, o.rto_ms !== undefined && `RTO ${d(o.rto_ms)}`, o.rpo_ms !== undefined && `RPO ${d(o.rpo_ms)}`, `on exceeded: ${o.on_exceeded}`, `rollback ${plan.rollback}`, `lock ${plan.lock}`]
      .filter(Boolean)
      .join(' · ')}`,
  );
  const params = Object.entries(plan.params);
  if (params.length) line(`  params: ${params.map(([k, v]) => `${k}=${stringifyValue(v)}`).join(' ')}`);
  plan.phases.forEach((p, i) => {
    line();
    const budget = p.budget_ms !== undefined ? `budget ${d(p.budget_ms)}, ` : '';
    const phasePredicted = p.unknown_steps.length ? `predicted ≥ ${d(p.predicted_ms)}, unknown for ${count(p.unknown_steps.length)}` : `predicted ${d(p.predicted_ms)}`;
    line(`Phase ${i + 1}: ${p.id}${p.title ? ` — ${p.title}` : ''}  (${budget}${phasePredicted}${verdict(p.within_budget)})`);
    if (p.when) line(`  when ${stringifyValue(p.when.expression)} → ${p.when.value}`);
    p.groups.forEach((g, gi) => {
      line(`  ${gi + 1}. ${g.length > 1 ? `in parallel (${g.length})` : 'then'}`);
      for (const id of g) out.push(...renderStep(p.steps.find((s) => s.id === id)!, indent + '     '));
    });
    if (p.finally.length) {
      line('  finally');
      for (const s of p.finally) out.push(...renderStep(s, indent + '     '));
    }
  });
  if (plan.finally.length) {
    line();
    line('Run finally');
    for (const s of plan.finally) out.push(...renderStep(s, indent + '     '));
  }
  line();
  const path = plan.phases.flatMap((p) => p.critical_path);
  line(`Critical path: ${path.join(' → ') || '—'}`);
  const unknown = [...plan.phases.flatMap((p) => p.unknown_steps), ...plan.finally.filter((s) => s.estimate_ms === null && s.when?.value !== 'false').map((s) => s.id)];
  // A sum that leaves steps out is a lower bound: it is shown as one, and it never earns a ✓.
  const predicted = plan.predicted_complete
    ? `${d(plan.predicted_ms)} (${plan.predicted_source === 'none' ? 'no estimates' : `from ${plan.predicted_source}`})`
    : plan.predicted_source === 'none'
      ? `unknown for ${count(unknown.length)} (no estimate, no history: ${unknown.join(', ')})`
      : `≥ ${d(plan.predicted_ms)} (from ${plan.predicted_source}; unknown for ${count(unknown.length)}: ${unknown.join(', ')})`;
  line(`Predicted: ${predicted}${o.rto_ms !== undefined ? ` against RTO ${d(o.rto_ms)}${verdict(plan.within_rto)}` : ''}`);
  line(`Rollback: ${plan.rollback_coverage.summary}`);
  for (const w of plan.warnings) line(`⚠ ${w}`);
  return out.join('\n');
}

function renderBodyLines(b: PlannedBody, pad: string): string[] {
  const lines: string[] = [];
  const extra = [
    b.timeout_ms === null ? 'no timeout (its own steps have theirs)' : `timeout ${d(b.timeout_ms)}${TIMEOUT_NOTE[b.timeout_source]}`,
    b.retry.attempts > 1 && `retry ${b.retry.attempts}× (delay ${d(b.retry.delay_ms)}${b.retry.backoff > 1 ? `, ×${b.retry.backoff}` : ''})`,
    b.confirm && 'needs confirmation',
  ].filter(Boolean);
  lines.push(`${pad}  ${b.rendered.split('\n').join(`\n${pad}  `)}`);
  if (b.when) lines.push(`${pad}  when ${stringifyValue(b.when.expression)} → ${b.when.value}${b.when.value === 'false' ? ' (will be skipped)' : ''}${b.when.error ? ` (${b.when.error})` : ''}`);
  lines.push(`${pad}  ${extra.join(' · ')}`);
  return lines;
}

function renderStep(s: PlannedStep, pad: string): string[] {
  const est = s.estimate_ms === null ? 'no estimate' : `${s.estimate_source === 'history' ? 'p50' : 'est'} ${d(s.estimate_ms)}${s.history ? ` (p95 ${d(s.history.p95)}, ${s.history.n} runs)` : ''}`;
  const lines = [`${pad}${s.critical ? '★' : '•'} ${s.id}${s.title ? ` — ${s.title}` : ''}  [${s.type}] ${est}${s.needs.length ? `  needs ${s.needs.join(', ')}` : ''}`];
  lines.push(...renderBodyLines(s, pad));
  if (s.for_each) lines.push(`${pad}  for each of ${Array.isArray(s.for_each.items) ? `${s.for_each.items.length} items` : stringifyValue(s.for_each.expression)} (concurrency ${s.for_each.concurrency})`);
  if (s.on) lines.push(`${pad}  ${describeHosts(s.on)}`);
  if (s.until) lines.push(`${pad}  until ${stringifyValue(s.until.condition)} every ${d(s.until.every_ms)}${s.until.within_ms ? ` within ${d(s.until.within_ms)}` : ''}`);
  if (s.on_failure === 'continue') lines.push(`${pad}  on failure: continue`);
  if (s.irreversible !== undefined) lines.push(`${pad}  ↺ no rollback: irreversible — ${s.irreversible}`);
  else if (!s.rollback && s.changes) lines.push(`${pad}  ↺ no rollback (NO_ROLLBACK)`);
  if (s.rollback) {
    lines.push(`${pad}  ↺ rollback${s.rollback.title ? `: ${s.rollback.title}` : ':'}`);
    lines.push(...renderBodyLines(s.rollback, pad + '    '));
  }
  if (s.runbook) lines.push(renderPlanText(s.runbook, pad + '    '));
  return lines;
}

/** `on web: 5 hosts in 3 batches (host-1 host-2 | host-3 host-4 | host-5), 2 at a time, max_failures 0`. */
function describeHosts(on: NonNullable<PlannedStep['on']>): string {
  if (on.hosts === 'unknown') return `on ${on.connection}: hosts known at run time (no inventory here), ${on.concurrency} at a time`;
  const batches = on.batches.length > 1 ? ` in ${on.batches.length} batches (${on.batches.map((b) => b.join(' ')).join(' | ')})` : ` (${on.hosts.join(' ')})`;
  return `on ${on.connection}: ${on.hosts.length} host${on.hosts.length === 1 ? '' : 's'}${batches}, ${on.concurrency} at a time, max_failures ${on.max_failures}`;
}
