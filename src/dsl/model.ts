/**
 * The normalized runbook the planner and the interpreter work on: defaults applied, durations in
 * milliseconds, `needs` resolved (sequential by default), every step with its YAML position.
 * Built only from a document that passed the schema, so shapes can be trusted here.
 */
import { DEFAULT_OUTPUT_LIMIT, parseSize } from './size.js';
import { dirname, resolve } from 'node:path';
import { parseDuration } from './duration.js';
import type { Path, SourceFile } from './load.js';
import type { Runbook as RunbookDocument, Step as StepDoc, Rollback as RollbackDoc } from './runbook.generated.js';
import { bodyKeys } from './schema.js';

export const DEFAULT_TIMEOUT_MS = 5 * 60_000;

export interface RetryPolicy {
  attempts: number;
  delay_ms: number;
  backoff: number;
  max_delay_ms?: number;
}

/** A value from the YAML (expression, template or literal) and where it is. */
export interface Located<T = unknown> {
  value: T;
  path: Path;
}

export interface BodyModel {
  /** Body key: shell, sql, http, s3, docker, wait, approve, assert, log, runbook. */
  type: string;
  /** The raw body value (templates unresolved). */
  body: unknown;
  path: Path;
  timeout_ms: number;
  /** Whether `timeout` is written on the body itself (not taken from defaults). */
  timeout_explicit: boolean;
  /** Bytes of each output stream journaled (spec §12 `output_limit`). */
  output_limit: number;
  retry: RetryPolicy;
  when?: Located;
  expect: Located[];
  title?: string;
  confirm: boolean;
}

export interface RollbackModel extends BodyModel {
  /** Resume: safe to run again when it was running when the process died (spec §8). */
  idempotent: boolean;
}

export interface StepModel extends BodyModel {
  id: string;
  phase: string;
  /** 'steps' or 'finally' (phase finally) or 'run-finally'. */
  section: 'steps' | 'finally' | 'run-finally';
  /** file:line:col of the step. */
  where: string;
  /** Explicit or implied (the step before it in its section). */
  needs: string[];
  needsExplicit: boolean;
  until?: { condition: Located; every_ms: number; within_ms?: number };
  outputs: Record<string, Located>;
  on_failure: 'abort' | 'continue';
  rollback?: RollbackModel;
  idempotent: boolean;
  for_each?: Located;
  concurrency: number;
  /** `on:` (spec §9): the ssh connection whose hosts the step runs on, one instance per host. */
  on?: { connection: string; path: Path };
  /** `on:` rolling batches: hosts per batch, or a share of them. */
  batch?: HostShare;
  /** `on:` failed hosts tolerated (default 0). */
  max_failures?: HostShare;
  estimate_ms?: number;
  description?: string;
  /** Why the step has no rollback although it changes the world (spec §12). */
  irreversible?: string;
}

/** A number of hosts, or a percentage of them (`batch`, `max_failures`). */
export type HostShare = { count: number } | { percent: number };

export function hostShareOf(v: number | string | undefined): HostShare | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return { count: v };
  return { percent: Number(v.slice(0, -1)) };
}

/** How many of `n` hosts a share stands for: a batch rounds up (at least 1), a tolerance rounds down. */
export function hostCount(share: HostShare, n: number, round: 'up' | 'down'): number {
  if ('count' in share) return share.count;
  const exact = (share.percent * n) / 100;
  return round === 'up' ? Math.max(1, Math.ceil(exact - 1e-9)) : Math.floor(exact + 1e-9);
}

export interface PhaseModel {
  id: string;
  title?: string;
  budget_ms?: number;
  when?: Located;
  steps: StepModel[];
  finally: StepModel[];
  path: Path;
}

export interface ParamModel {
  name: string;
  type: 'string' | 'number' | 'integer' | 'boolean' | 'duration' | 'list' | 'object';
  default?: unknown;
  description?: string;
  enum?: unknown[];
  required: boolean;
  pattern?: string;
  /** list params: the type of each element (`--set` values are parsed to it). */
  items?: 'string' | 'number' | 'integer' | 'boolean' | 'duration';
}

export interface RunbookModel {
  id: string;
  title?: string;
  description?: string;
  severity?: string;
  /** What its runs count as in `runbook stats` (`recovery` when not given). */
  kind?: string;
  file: string;
  baseDir: string;
  src: SourceFile;
  objectives: { rto_ms?: number; rpo_ms?: number; on_exceeded: 'warn' | 'abort' };
  rollback: 'auto' | 'prompt' | 'off';
  lock: string;
  params: ParamModel[];
  secrets: Record<string, { env?: string; file?: string; required: boolean }>;
  connections: Record<string, { kind: string; config: unknown; path: Path }>;
  /** `inventory:` as written (relative to baseDir), for the ssh connections' `hosts`. */
  inventory?: string;
  defaults: { timeout_ms: number; retry: RetryPolicy; output_limit: number };
  phases: PhaseModel[];
  finally: StepModel[];
  measure: Record<string, Located>;
  /** Every step (phases' steps and finally, run finally) by id. */
  steps: Map<string, StepModel>;
}

const ms = (d: string | undefined): number | undefined => (d === undefined ? undefined : parseDuration(d));

function retryOf(r: StepDoc['retry'] | undefined, fallback: RetryPolicy): RetryPolicy {
  if (!r) return fallback;
  return {
    attempts: r.attempts ?? fallback.attempts,
    delay_ms: ms(r.delay) ?? fallback.delay_ms,
    backoff: r.backoff ?? fallback.backoff,
    max_delay_ms: ms(r.max_delay) ?? fallback.max_delay_ms,
  };
}

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export function bodyKeyOf(obj: object): string | undefined {
  return bodyKeys().find((k) => k in obj);
}

function bodyModel(
  doc: StepDoc | RollbackDoc,
  path: Path,
  defaults: RunbookModel['defaults'],
): BodyModel {
  const type = bodyKeyOf(doc) ?? 'log';
  const expect = asList(doc.expect).map((value, i) => ({
    value,
    path: Array.isArray(doc.expect) ? [...path, 'expect', i] : [...path, 'expect'],
  }));
  return {
    type,
    body: (doc as Record<string, unknown>)[type],
    path: [...path, type],
    timeout_ms: ms(doc.timeout) ?? defaults.timeout_ms,
    timeout_explicit: doc.timeout !== undefined,
    output_limit: parseSize(doc.output_limit) ?? defaults.output_limit,
    retry: retryOf(doc.retry, defaults.retry),
    when: doc.when === undefined ? undefined : { value: doc.when, path: [...path, 'when'] },
    expect,
    title: doc.title,
    confirm: doc.confirm ?? false,
  };
}

export function buildModel(src: SourceFile): RunbookModel {
  const doc = src.data as RunbookDocument;
  const defaults = {
    timeout_ms: ms(doc.defaults?.timeout) ?? DEFAULT_TIMEOUT_MS,
    output_limit: parseSize(doc.defaults?.output_limit) ?? DEFAULT_OUTPUT_LIMIT,
    retry: retryOf(doc.defaults?.retry, { attempts: 1, delay_ms: 1000, backoff: 1 }),
  };
  const file = src.file;
  const steps = new Map<string, StepModel>();
  const where = (p: Path) => {
    const pos = src.pos(p);
    return `${pos.file}:${pos.line}:${pos.col}`;
  };
  // A step's `where`, computed on first use (runs report it; validating a valid file never does: it
  // is a YAML lookup a step). One getter for every step of this file, the step's path kept aside: a
  // getter made anew for each step cost ~6 ms of validating 1,000 steps (docs/startup.md; likely a
  // hidden class per step's model, each with an accessor of its own).
  const stepPaths = new WeakMap<object, Path>();
  const lazyWhere: PropertyDescriptor = {
    configurable: true,
    enumerable: true,
    get(this: StepModel) {
      // `this` is the step's model, or an object made from it (Object.create) that reads it through.
      let owner: object | null = this;
      while (owner && !stepPaths.has(owner)) owner = Object.getPrototypeOf(owner);
      const w = where(stepPaths.get(owner!)!);
      Object.defineProperty(owner!, 'where', { value: w, enumerable: true });
      return w;
    },
  };

  // Built by assignment, not by one literal with spreads and a getter: V8 builds such a literal
  // property by property on a slow path, ~30 µs a step before the code is warm (docs/startup.md).
  const stepModel = (s: StepDoc, phase: string, section: StepModel['section'], path: Path, prev?: string): StepModel => {
    // fromEntries, not assignment: an output named `__proto__` (refused by check-names) must stay a key.
    const outputs: StepModel['outputs'] = s.outputs ? Object.fromEntries(Object.keys(s.outputs).map((k) => [k, { value: s.outputs![k], path: [...path, 'outputs', k] }])) : {};
    let rollback: StepModel['rollback'];
    if (s.rollback) {
      rollback = bodyModel(s.rollback, [...path, 'rollback'], defaults) as NonNullable<StepModel['rollback']>;
      rollback.idempotent = s.rollback.idempotent ?? false;
    }
    // Property by property onto the body's model: no second object to copy from (this runs once
    // a step, before the code is compiled; docs/startup.md).
    const m = bodyModel(s, path, defaults) as StepModel;
    m.id = s.id;
    m.phase = phase;
    m.section = section;
    m.needs = s.needs ?? (prev ? [prev] : []);
    m.needsExplicit = s.needs !== undefined;
    m.until = s.until && {
      condition: { value: s.until.condition, path: [...path, 'until', 'condition'] },
      every_ms: ms(s.until.every) ?? 2000,
      within_ms: ms(s.until.within),
    };
    m.outputs = outputs;
    m.on_failure = s.on_failure ?? 'abort';
    m.rollback = rollback;
    m.idempotent = s.idempotent ?? false;
    m.for_each = s.for_each === undefined ? undefined : { value: s.for_each, path: [...path, 'for_each'] };
    m.concurrency = s.concurrency ?? 1;
    m.estimate_ms = ms(s.estimate);
    m.description = s.description;
    m.irreversible = s.irreversible;
    if (s.on !== undefined) m.on = { connection: s.on, path: [...path, 'on'] };
    if (s.batch !== undefined) m.batch = hostShareOf(s.batch);
    if (s.max_failures !== undefined) m.max_failures = hostShareOf(s.max_failures);
    stepPaths.set(m, path);
    Object.defineProperty(m, 'where', lazyWhere);
    if (!steps.has(m.id)) steps.set(m.id, m);
    return m;
  };

  const section = (list: StepDoc[] | undefined, phase: string, kind: StepModel['section'], path: Path): StepModel[] => {
    const out: StepModel[] = [];
    (list ?? []).forEach((s, i) => out.push(stepModel(s, phase, kind, [...path, i], out[i - 1]?.id)));
    return out;
  };

  const phases: PhaseModel[] = doc.phases.map((p, i) => ({
    id: p.id,
    title: p.title,
    budget_ms: ms(p.budget),
    when: p.when === undefined ? undefined : { value: p.when, path: ['phases', i, 'when'] },
    steps: section(p.steps, p.id, 'steps', ['phases', i, 'steps']),
    finally: section(p.finally, p.id, 'finally', ['phases', i, 'finally']),
    path: ['phases', i],
  }));

  return {
    id: doc.runbook,
    title: doc.title,
    description: doc.description,
    severity: doc.severity,
    kind: doc.kind,
    file,
    baseDir: dirname(resolve(file)),
    src,
    objectives: {
      rto_ms: ms(doc.objectives?.rto),
      rpo_ms: ms(doc.objectives?.rpo),
      on_exceeded: doc.objectives?.on_exceeded ?? 'warn',
    },
    rollback: doc.rollback ?? 'auto',
    lock: doc.lock ?? doc.runbook,
    params: Object.entries(doc.params ?? {}).map(([name, p]) => ({
      name,
      type: p.type ?? 'string',
      default: p.default,
      description: p.description,
      enum: p.enum,
      required: p.required ?? false,
      pattern: p.pattern,
      items: p.items,
    })),
    secrets: Object.fromEntries(
      Object.entries(doc.secrets ?? {}).map(([k, s]) => [k, { env: s.env, file: s.file, required: s.required ?? true }]),
    ),
    ...(doc.inventory !== undefined ? { inventory: doc.inventory } : {}),
    connections: Object.fromEntries(
      Object.entries(doc.connections ?? {}).map(([name, c]) => {
        const kind = Object.keys(c)[0];
        return [name, { kind, config: (c as Record<string, unknown>)[kind], path: ['connections', name, kind] }];
      }),
    ),
    defaults,
    phases,
    finally: section(doc.finally, '', 'run-finally', ['finally']),
    measure: Object.fromEntries(Object.entries(doc.measure ?? {}).map(([k, v]) => [k, { value: v, path: ['measure', k] }])),
    steps,
  };
}
