/**
 * `runbook plan`: the dry run of spec §5. Phases and steps in execution order with their concurrency
 * groups, each body rendered with what is known (unknown parts as their expression, secrets as ***),
 * guards evaluated to true/false/unknown, rollbacks, timeouts, budgets, and the predicted critical
 * path against the RTO and each budget. Pure: it reads the runbook, env and history, nothing else.
 */
import { resolve } from 'node:path';
import { UNKNOWN, type Scope } from '../dsl/expr/index.js';
import type { BodyModel, RunbookModel, StepModel } from '../dsl/model.js';
import type { LoadedRunbook } from '../dsl/validate.js';
import { parseDuration } from '../dsl/duration.js';
import { concurrencyGroups, criticalPath } from './graph.js';
import { evaluateBare, hideSensitiveHeaders, resolveValue } from './resolve.js';
import { renderBody } from './render.js';
import { stepType } from '../steps/registry.js';
import { effectiveTimeout, timeoutSource } from './effective-timeout.js';
import { changesWorld, describeCoverage, rollbackCoverage } from '../dsl/rollback-coverage.js';
import { hostCount } from '../dsl/model.js';
import { selectHosts, type Inventory } from '../inventory/index.js';

/** The hosts an `on:` step will run on, as far as the runbook and the inventory tell without connecting. */
function planHosts(model: RunbookModel, s: StepModel, inventory?: Inventory): PlannedHosts {
  const name = s.on!.connection;
  const config = (model.connections[name]?.config ?? {}) as { host?: unknown; hosts?: unknown };
  let hosts: string[] | 'unknown' = 'unknown';
  const names = [config.hosts ?? []].flat();
  if (typeof config.host === 'string' && !config.host.includes('${{')) hosts = [config.host];
  else if (inventory && names.length && names.every((n) => typeof n === 'string' && !n.includes('${{'))) {
    try {
      hosts = selectHosts(inventory, names as string[]).map((h) => h.name);
    } catch {
      /* reported by validation / the run */
    }
  }
  const out: PlannedHosts = { connection: name, hosts, batches: [], concurrency: s.concurrency, max_failures: null, rounds: null };
  if (hosts === 'unknown') return out;
  const size = s.batch ? hostCount(s.batch, hosts.length, 'up') : hosts.length;
  for (let i = 0; i < hosts.length; i += size) out.batches.push(hosts.slice(i, i + size));
  out.max_failures = hostCount(s.max_failures ?? { count: 0 }, hosts.length, 'down');
  out.rounds = out.batches.reduce((sum, b) => sum + Math.ceil(b.length / Math.max(1, s.concurrency)), 0);
  return out;
}

export type Guard = 'true' | 'false' | 'unknown';

export interface PlannedBody {
  type: string;
  title?: string;
  rendered: string;
  body: unknown;
  when?: { expression: unknown; value: Guard; error?: string };
  /** The timeout that bounds one attempt (effective-timeout.ts); null: none (a `runbook:` step without `timeout:`). */
  timeout_ms: number | null;
  /** Where it comes from: written on the step, the defaults, approve's own `timeout`, or none. */
  timeout_source: 'step' | 'default' | 'approve' | 'none';
  retry: { attempts: number; delay_ms: number; backoff: number; max_delay_ms?: number };
  confirm: boolean;
}

export interface PlannedStep extends PlannedBody {
  id: string;
  where: string;
  group: number;
  needs: string[];
  on_failure: 'abort' | 'continue';
  idempotent: boolean;
  for_each?: { expression: unknown; items: unknown[] | 'unknown'; concurrency: number };
  /** `on:` (spec §9): the connection's hosts in their rolling batches ('unknown' without the inventory). */
  on?: PlannedHosts;
  until?: { condition: unknown; every_ms: number; within_ms?: number };
  rollback?: PlannedBody;
  /** Why it has no rollback, when it says so (spec §12). */
  irreversible?: string;
  /** Whether it counts for rollback coverage: a phase step that changes the world (its type's readOnly says no otherwise). */
  changes: boolean;
  estimate_ms: number | null;
  estimate_source: 'history' | 'estimate' | 'wait' | 'none';
  history?: { n: number; p50: number; p95: number };
  critical: boolean;
  /** Nested plan of a `runbook:` step. */
  runbook?: Plan;
}

export interface PlannedHosts {
  connection: string;
  hosts: string[] | 'unknown';
  batches: string[][];
  concurrency: number;
  /** Failed hosts tolerated, as a number of these hosts. */
  max_failures: number | null;
  /** Rounds of `concurrency` hosts the fan-out takes, batch after batch: what the estimate is multiplied by. */
  rounds: number | null;
}

export interface PlannedPhase {
  id: string;
  title?: string;
  budget_ms?: number;
  when?: { expression: unknown; value: Guard; error?: string };
  groups: string[][];
  steps: PlannedStep[];
  finally: PlannedStep[];
  predicted_ms: number;
  predicted_p95_ms?: number;
  /** null when some step of the phase has no estimate (unless the known part already exceeds it). */
  within_budget: boolean | null;
  critical_path: string[];
  /** Steps of the phase (and its finally) that run but have neither estimate nor history. */
  unknown_steps: string[];
}

export interface Plan {
  runbook: string;
  title?: string;
  severity?: string;
  file: string;
  params: Record<string, unknown>;
  objectives: RunbookModel['objectives'];
  rollback: RunbookModel['rollback'];
  lock: string;
  phases: PlannedPhase[];
  finally: PlannedStep[];
  predicted_ms: number;
  predicted_source: 'history' | 'estimate' | 'mixed' | 'none';
  /** null when the RTO is unset, or when steps have no estimate and the known part fits (a lower bound proves nothing). */
  within_rto: boolean | null;
  /** Whether every step that runs has an estimate or history: otherwise predicted_ms is a lower bound. */
  predicted_complete: boolean;
  steps_without_estimate: string[];
  rollback_coverage: { changing: number; with_rollback: number; irreversible: number; uncovered: string[]; summary: string };
  warnings: string[];
}

export interface PlanOptions {
  params: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** Predicted step durations from past runs (p50/p95), keyed by step id. */
  history?: Map<string, { n: number; p50: number; p95: number }>;
  /** Loaded sub-runbooks by absolute path (from loadRunbook). */
  loaded?: LoadedRunbook;
  historyFor?: (runbookId: string) => Map<string, { n: number; p50: number; p95: number }> | undefined;
  /** The inventory, to show the hosts of `on:` steps. */
  inventory?: Inventory;
}

const guard = (value: unknown, scope: Scope): { value: Guard; error?: string } => {
  try {
    const v = evaluateBare(value, scope);
    if (v === UNKNOWN) return { value: 'unknown' };
    return { value: v === true ? 'true' : v === false || v === null ? 'false' : 'unknown' };
  } catch (e) {
    return { value: 'unknown', error: (e as Error).message };
  }
};

/** Scopes for plan: one that renders (secrets as ***), one that evaluates guards (secrets unknown). */
export function planScopes(model: RunbookModel, params: Record<string, unknown>, env: NodeJS.ProcessEnv) {
  const steps = Object.fromEntries([...model.steps.keys()].map((id) => [id, UNKNOWN]));
  const base = {
    params,
    env: { ...env },
    steps,
    run: { id: UNKNOWN, started_at: UNKNOWN, elapsed: UNKNOWN, dry_run: true, interactive: false },
    objectives: { rto: model.objectives.rto_ms ?? null, rpo: model.objectives.rpo_ms ?? null },
  };
  const render: Scope = { ...base, secrets: Object.fromEntries(Object.keys(model.secrets).map((k) => [k, '***'])) };
  const evaluate: Scope = { ...base, secrets: Object.fromEntries(Object.keys(model.secrets).map((k) => [k, UNKNOWN])) };
  return { render, evaluate };
}

export function buildPlan(model: RunbookModel, opts: PlanOptions): Plan {
  const env = opts.env ?? process.env;
  const scopes = planScopes(model, opts.params, env);
  const warnings: string[] = [];
  const noEstimate: string[] = [];
  const sources = new Set<string>();

  const planBody = (b: BodyModel, phase: { id: string; budget_ms?: number }, extra: Scope = {}): PlannedBody => {
    const phaseScope = { phase: { id: phase.id, budget: phase.budget_ms ?? null, elapsed: UNKNOWN } };
    const rscope = { ...scopes.render, ...phaseScope, ...extra };
    const escope = { ...scopes.evaluate, ...phaseScope, ...extra };
    const t = stepType(b.type);
    let body: unknown;
    try {
      // Shown as an operator reads it: values in shell.run written in place, quoted for their context.
      body = hideSensitiveHeaders(resolveValue(b.body, rscope, { keepUnknown: true, quoteFields: t?.shellQuoted, urlFields: t?.urlFields, display: true }));
    } catch (e) {
      body = b.body;
      warnings.push(`${b.type} body: ${(e as Error).message}`);
    }
    return {
      type: b.type,
      title: b.title,
      rendered: renderBody(b.type, body),
      body,
      when: b.when ? { expression: b.when.value, ...guard(b.when.value, escope) } : undefined,
      timeout_ms: effectiveTimeout(b) ?? null,
      timeout_source: timeoutSource(b),
      retry: b.retry,
      confirm: b.confirm || b.type === 'approve',
      ...(t ? {} : {}),
    };
  };

  const planStep = (s: StepModel, group: number, phase: { id: string; budget_ms?: number }): PlannedStep => {
    const itemScope: Scope = s.for_each ? { item: UNKNOWN, index: UNKNOWN } : s.on ? { host: UNKNOWN } : {};
    const on = s.on ? planHosts(model, s, opts.inventory) : undefined;
    const base = planBody(s, phase, itemScope);
    let forEach: PlannedStep['for_each'];
    if (s.for_each) {
      let items: unknown[] | 'unknown' = 'unknown';
      try {
        const v = evaluateBare(s.for_each.value, scopes.evaluate);
        if (Array.isArray(v)) items = v;
      } catch {
        /* shown as unknown */
      }
      forEach = { expression: s.for_each.value, items, concurrency: s.concurrency };
    }
    const hist = opts.history?.get(s.id);
    let estimate: number | null = null;
    let source: PlannedStep['estimate_source'] = 'none';
    if (hist) {
      estimate = hist.p50;
      source = 'history';
    } else if (s.estimate_ms !== undefined) {
      estimate = s.estimate_ms;
      source = 'estimate';
    } else if (s.type === 'wait' && typeof s.body === 'string' && parseDuration(s.body) !== undefined) {
      estimate = parseDuration(s.body)!;
      source = 'wait';
    } else if (['log', 'assert'].includes(s.type)) {
      estimate = 0;
      source = 'estimate';
    } else noEstimate.push(s.id);
    if (estimate !== null && forEach && Array.isArray(forEach.items)) {
      estimate = estimate * Math.ceil(forEach.items.length / Math.max(1, s.concurrency));
    }
    if (estimate !== null && on?.rounds) estimate *= on.rounds;
    sources.add(source === 'wait' ? 'estimate' : source);

    let nested: Plan | undefined;
    if (s.type === 'runbook' && opts.loaded) {
      const file = (s.body as { file?: unknown }).file;
      const child = typeof file === 'string' ? opts.loaded.children.get(resolve(model.baseDir, file)) : undefined;
      if (child?.model) {
        const given = ((base.body as { params?: Record<string, unknown> }).params ?? {}) as Record<string, unknown>;
        const params: Record<string, unknown> = {};
        for (const p of child.model.params) {
          const v = given[p.name];
          params[p.name] = v === undefined ? (p.default ?? null) : typeof v === 'string' && v.includes('${{') ? UNKNOWN : v;
        }
        nested = buildPlan(child.model, { ...opts, params, loaded: child, history: opts.historyFor?.(child.model.id) });
        if (estimate === null && nested.predicted_ms > 0) {
          estimate = nested.predicted_ms;
          source = 'estimate';
          noEstimate.splice(noEstimate.indexOf(s.id), 1);
        }
      }
    }
    return {
      ...base,
      id: s.id,
      where: s.where,
      group,
      needs: s.needs,
      on_failure: s.on_failure,
      idempotent: s.idempotent,
      for_each: forEach,
      ...(on ? { on } : {}),
      until: s.until && { condition: s.until.condition.value, every_ms: s.until.every_ms, within_ms: s.until.within_ms },
      rollback: s.rollback ? planBody(s.rollback, phase, { ...itemScope, self: UNKNOWN }) : undefined,
      irreversible: s.irreversible,
      changes: s.section === 'steps' && changesWorld(s),
      estimate_ms: estimate,
      estimate_source: source,
      history: hist,
      critical: false,
      runbook: nested,
    };
  };

  const planSection = (steps: StepModel[], phase: { id: string; budget_ms?: number }, phaseSkipped = false) => {
    const groups = concurrencyGroups(steps);
    const groupOf = new Map<string, number>();
    groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)));
    const planned = steps.map((s) => planStep(s, groupOf.get(s.id)!, phase));
    // Execution order: by group, then as written.
    planned.sort((a, b) => a.group - b.group);
    // A step whose guard is already known to be false will be skipped: it takes no time on the path.
    const skipped = (p: PlannedStep) => p.when?.value === 'false' || phaseSkipped;
    const dur = new Map(planned.map((p) => [p.id, skipped(p) ? 0 : (p.estimate_ms ?? 0)]));
    const cp = criticalPath(steps, (id) => dur.get(id)!);
    for (const p of planned) p.critical = cp.path.includes(p.id) && !skipped(p);
    const path = cp.path.filter((id) => !skipped(planned.find((q) => q.id === id)!));
    const unknown = planned.filter((p) => !skipped(p) && p.estimate_ms === null).map((p) => p.id);
    const p95 = criticalPath(steps, (id) => {
      const p = planned.find((q) => q.id === id)!;
      return skipped(p) ? 0 : (p.history?.p95 ?? dur.get(id)!);
    });
    return { groups, planned, total: cp.total, path, p95: p95.total, unknown };
  };

  const phases: PlannedPhase[] = model.phases.map((ph) => {
    const phaseWhen = ph.when ? { expression: ph.when.value, ...guard(ph.when.value, scopes.evaluate) } : undefined;
    // A phase whose guard is false skips its steps (its finally steps still run).
    const main = planSection(ph.steps, ph, phaseWhen?.value === 'false');
    const fin = planSection(ph.finally, ph);
    const predicted = main.total + fin.total;
    const p95 = main.p95 + fin.p95;
    return {
      id: ph.id,
      title: ph.title,
      budget_ms: ph.budget_ms,
      when: phaseWhen,
      groups: main.groups,
      steps: main.planned,
      finally: fin.planned,
      predicted_ms: predicted,
      predicted_p95_ms: opts.history?.size ? p95 : undefined,
      within_budget: verdictOf(predicted, ph.budget_ms, main.unknown.length + fin.unknown.length > 0),
      critical_path: main.path,
      unknown_steps: [...main.unknown, ...fin.unknown],
    };
  });
  const runFinally = planSection(model.finally, { id: '' });
  const predicted = phases.reduce((a, p) => a + p.predicted_ms, 0) + runFinally.total;
  for (const p of phases) {
    if (p.within_budget === false) warnings.push(`phase '${p.id}' is predicted to take longer than its budget`);
  }
  const rto = model.objectives.rto_ms;
  const unknownSteps = [...phases.flatMap((p) => p.unknown_steps), ...runFinally.unknown];
  if (rto !== undefined && predicted > rto) warnings.push(`the run is predicted to take longer than the RTO${unknownSteps.length ? ' (even without the steps that have no estimate)' : ''}`);
  if (noEstimate.length) warnings.push(`${noEstimate.length} step(s) have no estimate and no history: ${noEstimate.join(', ')}`);
  sources.delete('none');
  const coverage = rollbackCoverage(model);

  return {
    runbook: model.id,
    title: model.title,
    severity: model.severity,
    file: model.file,
    params: maskParams(opts.params),
    objectives: model.objectives,
    rollback: model.rollback,
    lock: model.lock,
    phases,
    finally: runFinally.planned,
    predicted_ms: predicted,
    predicted_source: sources.size === 0 ? 'none' : sources.size === 1 ? (sources.has('history') ? 'history' : 'estimate') : 'mixed',
    within_rto: verdictOf(predicted, rto, unknownSteps.length > 0),
    predicted_complete: unknownSteps.length === 0,
    steps_without_estimate: noEstimate,
    rollback_coverage: {
      changing: coverage.changing.length,
      with_rollback: coverage.withRollback.length,
      irreversible: coverage.irreversible.length,
      uncovered: coverage.uncovered,
      summary: describeCoverage(coverage),
    },
    warnings,
  };
}

/**
 * Whether a prediction fits a limit. With steps of unknown duration the prediction is a lower bound:
 * it can prove the limit is exceeded, never that it is met (no false green).
 */
function verdictOf(predicted: number, limit: number | undefined, incomplete: boolean): boolean | null {
  if (limit === undefined) return null;
  if (predicted > limit) return false;
  return incomplete ? null : true;
}

function maskParams(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v === UNKNOWN ? '<unknown>' : v]));
}
