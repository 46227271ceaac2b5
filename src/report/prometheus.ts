/**
 * `--format prometheus`: text exposition format 0.0.4, for a node_exporter textfile collector
 * (`*.prom`) or a push gateway. Samples carry no timestamps (the textfile collector rejects them);
 * the run's start is its own gauge. A metric family with no sample is left out. The first line, a
 * comment, names the run the figures come from.
 */
import type { StepStatus } from '../interpreter/events.js';
import type { ReportRunStatus, RunReport } from './types.js';

const STEP_STATUSES: StepStatus[] = ['pending', 'running', 'succeeded', 'failed', 'timed_out', 'skipped', 'cancelled'];
const RUN_STATUSES: ReportRunStatus[] = ['succeeded', 'rolled_back', 'rollback_failed', 'failed', 'aborted', 'incomplete'];
const ITEM_STATUSES = ['succeeded', 'failed', 'timed_out', 'skipped', 'cancelled'] as const;

type Labels = Record<string, string>;
interface Family {
  name: string;
  help: string;
  samples: [Labels, number][];
}

export function renderPrometheus(r: RunReport): string {
  const fams: Family[] = [];
  const family = (name: string, help: string): Family['samples'] => {
    const f: Family = { name, help, samples: [] };
    fams.push(f);
    return f.samples;
  };
  // No label takes a per-run or per-item value (spec §8): one series per runbook, phase and
  // top-level step, whatever the number of runs or items. The run id is a comment for the reader.
  const run = { runbook: r.run.runbook };
  const sec = (ms: number) => ms / 1000;

  const duration = family('runbook_run_duration_seconds', 'Wall-clock duration of the run.');
  if (r.run.duration_ms !== undefined) duration.push([run, sec(r.run.duration_ms)]);
  const status = family('runbook_run_status', 'Status of the run: 1 for its status, 0 for the others.');
  for (const st of RUN_STATUSES) status.push([{ ...run, status: st }, r.run.status === st ? 1 : 0]);
  family('runbook_run_success', '1 when the run succeeded, else 0 (failed, rolled back, aborted or incomplete).').push([run, r.run.status === 'succeeded' ? 1 : 0]);
  family('runbook_run_dry_run', '1 when the run was a dry run (nothing was changed).').push([run, r.run.dry_run ? 1 : 0]);
  family('runbook_run_drill', '1 when the run was a DR drill (run --drill), 0 for an incident or a dry run.').push([run, r.run.drill ? 1 : 0]);
  const started = Date.parse(r.run.started_at);
  if (!Number.isNaN(started)) family('runbook_run_timestamp_seconds', 'Start time of the run, seconds since the Unix epoch.').push([run, started / 1000]);
  const rto = family('runbook_run_rto_seconds', 'Recovery time achieved by the run.');
  if (r.rto.achieved_ms !== undefined) rto.push([run, sec(r.rto.achieved_ms)]);
  const rtoObj = family('runbook_run_rto_objective_seconds', 'Recovery time objective of the runbook.');
  if (r.rto.objective_ms !== undefined) rtoObj.push([run, sec(r.rto.objective_ms)]);
  const rtoMet = family('runbook_run_rto_met', '1 when the recovery time objective was met, else 0.');
  if (r.rto.met !== null) rtoMet.push([run, r.rto.met ? 1 : 0]);
  const rpo = family('runbook_rpo_seconds', 'Recovery point measured by the run (the runbook\'s measure.rpo).');
  if (r.rpo.measured_ms !== undefined) rpo.push([run, sec(r.rpo.measured_ms)]);
  const rpoObj = family('runbook_rpo_objective_seconds', 'Recovery point objective of the runbook.');
  if (r.rpo.objective_ms !== undefined) rpoObj.push([run, sec(r.rpo.objective_ms)]);

  const phaseDur = family('runbook_phase_duration_seconds', 'Duration of each phase.');
  const phaseBudget = family('runbook_phase_budget_seconds', 'Time budget of each phase.');
  const within = family('runbook_phase_within_budget', '1 when the phase finished within its budget, else 0.');
  for (const p of r.phases) {
    const l = { ...run, phase: p.id };
    if (p.duration_ms !== undefined) phaseDur.push([l, sec(p.duration_ms)]);
    if (p.budget_ms !== undefined) phaseBudget.push([l, sec(p.budget_ms)]);
    if (p.within_budget !== null) within.push([l, p.within_budget ? 1 : 0]);
  }

  // Top-level steps only: items and sub-runbook steps grow with the data. A for_each step's items
  // are counted by status instead.
  const stepDur = family('runbook_step_duration_seconds', 'Duration of each top-level step (all attempts, all items).');
  const stepStatus = family('runbook_step_status', 'Status of each top-level step: 1 for its status, 0 for the others.');
  const stepItems = family('runbook_step_items', 'Items of a for_each step, by how they ended.');
  for (const s of r.steps) {
    if (s.depth !== 0) continue;
    const l = { ...run, phase: s.top_phase, step: s.id };
    if (s.duration_ms !== undefined) stepDur.push([l, sec(s.duration_ms)]);
    for (const st of STEP_STATUSES) stepStatus.push([{ ...l, status: st }, s.status === st ? 1 : 0]);
    if (s.items) for (const st of ITEM_STATUSES) stepItems.push([{ ...l, status: st }, s.items[st]]);
  }

  const lines: string[] = [`# runbook ${oneLine(r.run.runbook)} run ${oneLine(r.run.id)} (${r.run.status})`];
  for (const f of fams) {
    if (!f.samples.length) continue;
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} gauge`);
    for (const [labels, v] of f.samples) lines.push(`${f.name}{${formatLabels(labels)}} ${formatValue(v)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A comment line stays one line. */
function oneLine(v: string): string {
  return v.replace(/[\r\n]+/g, ' ');
}

function formatLabels(labels: Labels): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',');
}

/** Label values escape `\`, `"` and newline (exposition format 0.0.4). */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
