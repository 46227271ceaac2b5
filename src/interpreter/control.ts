/**
 * The control step types: wait, approve, assert, log, and runbook (a sub-runbook run inline as a
 * nested level of the same run: its steps are `<instance address>.<id>`, its phases `<instance address>/<id>`).
 */
import { MAX_RUNBOOK_DEPTH } from '../dsl/limits.js';
import { resolve } from 'node:path';
import type { BodyModel } from '../dsl/model.js';
import { UNKNOWN, stringifyValue, type Scope } from '../dsl/expr/index.js';
import { parseDuration } from '../dsl/duration.js';
import { loadRunbook, allDiagnostics } from '../dsl/validate.js';
import { formatDiagnostic, isError } from '../dsl/errors.js';
import { resolveParams } from '../dsl/params.js';
import { StepFailure } from '../steps/types.js';
import { evaluateBare, locateError } from './resolve.js';
import { sleep } from './timers.js';
import { confirmGate } from './execute-step.js';
import { newLevel, type Level, type RunContext } from './context.js';
import { ConnectionPool } from './connections.js';
import { runPhases, evaluateMeasures } from './phases.js';
import { runSection } from './scheduler.js';
import { restoreLevel } from './restore.js';
import { phaseCtxOf } from './context.js';
import { readSecrets } from './secrets.js';
import { secretForms } from './masked-output.js';
import type { RunbookModel } from '../dsl/model.js';

/**
 * The secrets a sub-runbook declares: read at run start for literal files; a file named by an
 * expression has them read now, and the masker learns them before any of its steps runs.
 */
function childSecrets(ctx: RunContext, abs: string, model: RunbookModel): Record<string, string> {
  const known = ctx.settings.childSecrets.get(abs);
  if (known) return known;
  const { values, diagnostics } = readSecrets(model, ctx.settings.env);
  if (diagnostics.length) throw new StepFailure(diagnostics.map((d) => d.message).join('; '), undefined, 'SECRET_MISSING');
  for (const v of Object.values(values)) ctx.emitter.masker.add(v);
  ctx.secretForms.push(...secretForms(Object.values(values)));
  ctx.settings.childSecrets.set(abs, values);
  return values;
}

export async function executeControl(
  ctx: RunContext,
  level: Level,
  b: BodyModel,
  fullId: string,
  scope: Scope,
  signal: AbortSignal,
  body?: unknown,
): Promise<unknown> {
  switch (b.type) {
    case 'wait': {
      const ms = typeof body === 'number' ? body : parseDuration(String(body));
      if (ms === undefined) throw new StepFailure(`wait: invalid duration ${stringifyValue(body)}`);
      if (!ctx.settings.dryRun) await sleep(ms, signal);
      return { waited_ms: ctx.settings.dryRun ? 0 : ms };
    }
    case 'approve': {
      const a = body as { message: string; timeout?: string };
      const timeout = a.timeout ? parseDuration(a.timeout) : undefined;
      const ok = await confirmGate(ctx, fullId, a.message, timeout, signal);
      if (!ok) {
        throw new StepFailure(
          ctx.decider.interactive || ctx.settings.yes ? `not approved: ${a.message}` : 'needs approval: run with --yes to approve non-interactively',
          { approved: false },
          'NOT_APPROVED',
        );
      }
      return { approved: true };
    }
    case 'assert': {
      const list = Array.isArray(b.body) ? b.body : [b.body];
      for (let i = 0; i < list.length; i++) {
        const loc = { value: list[i], path: Array.isArray(b.body) ? [...b.path, i] : b.path };
        let v: unknown;
        try {
          v = evaluateBare(loc.value, scope);
        } catch (e) {
          throw new StepFailure(locateError(e, level.model.src, loc), undefined, 'EXPR_EVAL');
        }
        if (v === UNKNOWN && ctx.settings.dryRun) continue;
        if (v !== true) throw new StepFailure(`assertion failed: ${stringifyValue(loc.value)}${v === false ? '' : ` (got ${stringifyValue(v)})`}`);
      }
      return { passed: list.length };
    }
    case 'log': {
      const text = stringifyValue(body);
      ctx.emitter.emit({ type: 'log', step: fullId, ...ctx.tagsOf(fullId), text });
      return { text };
    }
    case 'runbook':
      return runSubRunbook(ctx, level, fullId, body as { file: string; params?: Record<string, unknown> }, signal);
    default:
      throw new StepFailure(`unknown step type '${b.type}'`);
  }
}

/**
 * The level of a sub-runbook run by the instance `address` (`each[1]`): its steps are
 * `each[1].<id>`, its phases `each[1]/<id>`. On resume, what the dead process finished inside it is
 * applied at once (restore.ts).
 */
export function openSubRunbook(
  ctx: RunContext,
  level: Level,
  address: string,
  body: { file: string; params?: Record<string, unknown> },
  signal?: AbortSignal,
): Level {
  const abs = resolve(level.model.baseDir, body.file);
  // A file named by an expression can call itself (validate cannot see it): bound the nesting (spec §12).
  if (level.depth + 1 > MAX_RUNBOOK_DEPTH) {
    throw new StepFailure(`sub-runbooks nest more than ${MAX_RUNBOOK_DEPTH} deep: '${body.file}' is not started (does a runbook call itself?)`, undefined, 'RUNBOOK_DEPTH');
  }
  const loaded = level.loaded.children.get(abs) ?? loadRunbook(abs);
  const diags = allDiagnostics(loaded).filter(isError);
  if (!loaded.model || diags.length) {
    throw new StepFailure(`sub-runbook ${body.file} is invalid:\n${diags.map((d) => formatDiagnostic(d)).join('\n')}`, undefined, 'RUNBOOK_INVALID');
  }
  const model = loaded.model;
  const { values, diagnostics } = resolveParams(model, body.params ?? {}, 'parent');
  if (diagnostics.length) throw new StepFailure(diagnostics.map((d) => d.message).join('; '), undefined, 'PARAM');
  const child = newLevel(
    model,
    loaded,
    values,
    new ConnectionPool(model, () => ctx.scope(child), { runId: ctx.runId, baseDir: model.baseDir, env: ctx.settings.env, masker: ctx.emitter.masker, services: ctx.services }),
    { address, depth: level.depth, signal, secrets: childSecrets(ctx, abs, model) },
  );
  restoreLevel(ctx, child);
  return child;
}

async function runSubRunbook(
  ctx: RunContext,
  level: Level,
  address: string,
  body: { file: string; params?: Record<string, unknown> },
  signal: AbortSignal,
): Promise<unknown> {
  // Before the child's restored state is applied: a failure the dead process saw inside it is its own.
  const failedBefore = ctx.failure;
  const child = openSubRunbook(ctx, level, address, body, signal);
  const model = child.model;
  try {
    await runPhases(ctx, child);
    // The child's own finally: now when it succeeded, after the rollback when the run is failing.
    // (After a timeout of the runbook step it still runs now, under the run's signal: finally means always.)
    if (model.finally.length) {
      const phase = phaseCtxOf(child, { id: 'finally' });
      if (!ctx.stopping) await runSection(ctx, { ...child, signal: undefined }, model.finally, phase, { untilStopped: false });
      else ctx.deferredFinally.push({ level: child, steps: model.finally, phase });
    }
    const measures = evaluateMeasures(ctx, child);
    const steps = Object.fromEntries([...child.states].map(([id, s]) => [id, { status: s.status, outputs: s.outputs }]));
    if (ctx.failure && ctx.failure !== failedBefore) {
      throw new StepFailure(`sub-runbook '${model.id}' failed: ${ctx.failure.error}`, { status: 'failed', steps }, 'SUBRUNBOOK_FAILED');
    }
    if (signal.aborted) throw signal.reason;
    return { status: 'succeeded', runbook: model.id, outputs: measures, steps };
  } finally {
    await child.connections.closeAll();
  }
}
