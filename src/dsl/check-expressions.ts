/**
 * Every expression and `${{ }}` template of a runbook is parsed once here: syntax errors and
 * references to unknown roots, steps, params, secrets or outputs are reported at their column in
 * the YAML file.
 */
import type { Diagnostic } from './errors.js';
import type { Path } from './load.js';
import type { Located, RunbookModel, StepModel, BodyModel } from './model.js';
import { ExprError, parseBareExpression, parseTemplate, references, type Expr } from './expr/index.js';
import { closest } from './suggest.js';
import { stepType } from '../steps/registry.js';
import { checkShellQuote } from './check-shell-quote.js';

const STEP_FIELDS = ['status', 'outputs', 'result', 'error', 'attempts', 'duration'];
const BASE_ROOTS = ['params', 'env', 'secrets', 'steps', 'run', 'phase', 'objectives'];

interface Ctx {
  roots: string[];
  /** Inside a rollback: the step it undoes (`self`). */
  self?: StepModel;
  /** Why a root is missing here, for a better message. */
  why?: Record<string, string>;
}

/** `steps.<runbook step>.outputs.<name>` reads, checked against the sub-runbook's measures by validate.ts. */
export interface OutputReference {
  step: string;
  output: string;
  /** Where the read is (a function: a position is looked up only for an error). */
  at: () => Pick<Diagnostic, 'file' | 'line' | 'col' | 'offset'>;
}
const runbookOutputRefs = new WeakMap<RunbookModel, OutputReference[]>();

/** The reads of `runbook:` steps' outputs that checkExpressions saw in `model` (it runs first). */
export function outputReferences(model: RunbookModel): OutputReference[] {
  return runbookOutputRefs.get(model) ?? [];
}

/** A `steps.<id>` read in a step's own expressions (not its rollback's), and where it is. */
export interface StepRead {
  id: string;
  path: Path;
}
const stepReadsByModel = new WeakMap<RunbookModel, Map<StepModel, StepRead[]>>();

/**
 * The `steps.<id>` reads of each step's body, `when`, `expect`, `for_each`, `until` and outputs, in
 * that order, as checkExpressions found them while parsing them (check-races needs the same list; one
 * walk and one parse serve both). Runs the expression check first if it has not run on `model`.
 */
export function stepReads(model: RunbookModel): Map<StepModel, StepRead[]> {
  if (!stepReadsByModel.has(model)) checkExpressions(model);
  return stepReadsByModel.get(model)!;
}

export function checkExpressions(model: RunbookModel): Diagnostic[] {
  const out: Diagnostic[] = [];
  const src = model.src;
  const subOutputs: OutputReference[] = [];
  runbookOutputRefs.set(model, subOutputs);
  const reads = new Map<StepModel, StepRead[]>();
  stepReadsByModel.set(model, reads);
  // The list the current step's own reads go to; undefined in rollbacks, phases and connections.
  let reading: StepRead[] | undefined;

  const point = (path: Path, _text: string, indexInValue: number) =>
    src.at(src.valueOffset(path, indexInValue) ?? src.pos(path).offset ?? 0);

  const checkRefs = (expr: Expr, ctx: Ctx, path: Path, text: string, base: number) => {
    for (const ref of references(expr)) {
      const [root, second, third, fourth] = ref.path;
      const at = () => point(path, text, base + ref.start);
      if (!root) continue;
      if (!ctx.roots.includes(root)) {
        const known = [...BASE_ROOTS, 'result', 'self', 'item', 'index', 'host'];
        const reason = ctx.why?.[root];
        if (known.includes(root)) {
          out.push({ code: 'SCOPE', message: `'${root}' is not available here${reason ? `: ${reason}` : ''}`, ...at() });
        } else {
          const hint = closest(root, ctx.roots);
          out.push({
            code: 'UNKNOWN_NAME',
            message: `unknown name '${root}'${hint ? ` (did you mean '${hint}'?)` : ` (known: ${ctx.roots.join(', ')})`}`,
            ...at(),
          });
        }
        continue;
      }
      if (root === 'steps' && second != null) {
        reading?.push({ id: second, path });
        const step = model.steps.get(second);
        if (!step) {
          const hint = closest(second, [...model.steps.keys()]);
          out.push({ code: 'UNKNOWN_STEP', message: `unknown step '${second}'${hint ? ` (did you mean '${hint}'?)` : ''}`, ...at() });
          continue;
        }
        if (third != null && !STEP_FIELDS.includes(third)) {
          const hint = closest(third, STEP_FIELDS);
          out.push({
            code: 'UNKNOWN_FIELD',
            message: `step '${second}' has no field '${third}'${hint ? ` (did you mean '${hint}'?)` : ` (fields: ${STEP_FIELDS.join(', ')})`}`,
            ...at(),
          });
          continue;
        }
        const declared = Object.keys(step.outputs);
        if (third === 'outputs' && fourth != null && step.type === 'runbook') subOutputs.push({ step: step.id, output: fourth, at });
        if (third === 'outputs' && fourth != null && step.type !== 'runbook' && !declared.includes(fourth)) {
          const hint = closest(fourth, declared);
          out.push({
            code: 'UNKNOWN_OUTPUT',
            message: `step '${second}' has no output '${fourth}'${hint ? ` (did you mean '${hint}'?)` : declared.length ? ` (outputs: ${declared.join(', ')})` : ' (it declares no outputs)'}`,
            ...at(),
          });
        }
      }
      if (root === 'self' && ctx.self && second === 'outputs' && third != null && ctx.self.type !== 'runbook') {
        const declared = Object.keys(ctx.self.outputs);
        if (!declared.includes(third)) {
          const hint = closest(third, declared);
          out.push({
            code: 'UNKNOWN_OUTPUT',
            message: `step '${ctx.self.id}' has no output '${third}'${hint ? ` (did you mean '${hint}'?)` : declared.length ? ` (outputs: ${declared.join(', ')})` : ' (it declares no outputs)'}`,
            ...at(),
          });
        }
      }
      if (root === 'params' && second != null && !model.params.some((p) => p.name === second)) {
        const hint = closest(second, model.params.map((p) => p.name));
        out.push({ code: 'UNKNOWN_PARAM', message: `unknown param '${second}'${hint ? ` (did you mean '${hint}'?)` : ''}`, ...at() });
      }
      if (root === 'secrets' && second != null && !(second in model.secrets)) {
        const hint = closest(second, Object.keys(model.secrets));
        out.push({ code: 'UNKNOWN_SECRET', message: `unknown secret '${second}'${hint ? ` (did you mean '${hint}'?)` : ''}`, ...at() });
      }
    }
  };

  const syntaxError = (e: unknown, path: Path, text: string, base: number) => {
    if (e instanceof ExprError) {
      out.push({ code: e.code, message: e.message, ...point(path, text, base + e.offset) });
    } else throw e;
  };

  /** A bare expression (or `${{ }}`-wrapped one). Non-strings are literals. */
  const bare = (loc: Located | undefined, ctx: Ctx) => {
    if (!loc || typeof loc.value !== 'string') return;
    const text = loc.value;
    try {
      const { expr, offset } = parseBareExpression(text);
      checkRefs(expr, ctx, loc.path, text, offset);
    } catch (e) {
      syntaxError(e, loc.path, text, 0);
    }
  };

  /** Strings anywhere inside a value that may hold `${{ }}`. */
  const templates = (value: unknown, path: Path, ctx: Ctx, forbid?: (p: Path) => string | undefined) => {
    if (typeof value === 'string') {
      if (!value.includes('${{')) return;
      const reason = forbid?.(path);
      if (reason) {
        out.push({ code: 'SQL_INTERPOLATION', message: reason, ...point(path, value, value.indexOf('${{')) });
        return;
      }
      try {
        for (const part of parseTemplate(value)) {
          if (part.kind === 'expr') checkRefs(part.expr, ctx, path, value, part.offset);
        }
      } catch (e) {
        syntaxError(e, path, value, 0);
      }
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) if (mayHold(value[i])) templates(value[i], [...path, i], ctx, forbid);
    } else if (value && typeof value === 'object') {
      // Index loops: this walks every body of the file before the code is compiled, where for…of and
      // Object.entries allocate a pair and an iterator result per value.
      const keys = Object.keys(value);
      for (let i = 0; i < keys.length; i++) {
        const v = (value as Record<string, unknown>)[keys[i]];
        if (mayHold(v)) templates(v, [...path, keys[i]], ctx, forbid);
      }
    }
  };
  // A value with no `${{` needs no path of its own: most of a body's values.
  const mayHold = (v: unknown) => (typeof v === 'string' ? v.includes('${{') : typeof v === 'object' && v !== null);

  /** outputs/measure values: a template when they hold `${{`, else a bare expression. */
  const valueExpr = (loc: Located, ctx: Ctx) => {
    if (typeof loc.value === 'string' && loc.value.includes('${{')) templates(loc.value, loc.path, ctx);
    else bare(loc, ctx);
  };

  const bodyChecks = (b: BodyModel, ctx: Ctx, rollback = false) => {
    const t = stepType(b.type);
    const forbid = t?.noInterpolation?.length
      ? (p: Path) => {
          const field = p[b.path.length];
          return typeof field === 'string' && t.noInterpolation!.includes(field)
            ? `\${{ }} is not allowed in ${b.type}.${field}: pass values as bind parameters through 'params' ($1, $2, …)`
            : undefined;
        }
      : undefined;
    if (b.type === 'assert') {
      const list = Array.isArray(b.body) ? b.body : [b.body];
      list.forEach((v, i) => bare({ value: v, path: Array.isArray(b.body) ? [...b.path, i] : b.path }, ctx));
    } else {
      templates(b.body, b.path, ctx, forbid);
    }
    // A step's `when` decides once for the whole step, before any item or host; a rollback's is
    // asked per host instance, with its `host`.
    if (b.when) bare(b.when, whenCtx(ctx, rollback));
    if (b.expect.length) {
      const withResult = resultCtx(ctx);
      for (const e of b.expect) bare(e, withResult);
    }
  };

  // The scopes derived from a step's: made once per scope, not once per step and field (a 1,000-step
  // file validated ~20% slower building them, docs/startup.md).
  const derived = new WeakMap<Ctx, { result?: Ctx; when?: Ctx; rollbackWhen?: Ctx }>();
  const derive = (ctx: Ctx) => {
    let d = derived.get(ctx);
    if (!d) derived.set(ctx, (d = {}));
    return d;
  };
  const resultCtx = (ctx: Ctx): Ctx => (derive(ctx).result ??= { ...ctx, roots: [...ctx.roots, 'result'] });
  const once = 'not in when: it decides once for the whole step, before any item or host';
  const whenCtx = (ctx: Ctx, rollback: boolean): Ctx => {
    const d = derive(ctx);
    const make = () => {
      const hidden = rollback ? ['item', 'index'] : ['item', 'index', 'host'];
      return { roots: ctx.roots.filter((r) => !hidden.includes(r)), why: { ...ctx.why, ...Object.fromEntries(hidden.map((r) => [r, once])) } };
    };
    return rollback ? (d.rollbackWhen ??= make()) : (d.when ??= make());
  };

  const noResult = { result: 'only in expect, until and outputs', self: "only inside a step's rollback" };
  const stepCtxs = new Map<string, Ctx>();
  const stepCtx = (s: StepModel): Ctx => {
    const key = `${s.for_each ? 'i' : ''}${s.on ? 'h' : ''}`;
    let ctx = stepCtxs.get(key);
    if (!ctx) {
      ctx = {
        roots: [...BASE_ROOTS, ...(s.for_each ? ['item', 'index'] : []), ...(s.on ? ['host'] : [])],
        why: { ...noResult, item: 'only in a for_each step', index: 'only in a for_each step', host: "only in a step with 'on:'" },
      };
      stepCtxs.set(key, ctx);
    }
    return ctx;
  };

  const allSteps = [...model.phases.flatMap((p) => [...p.steps, ...p.finally]), ...model.finally];
  for (const p of model.phases) bare(p.when, { roots: BASE_ROOTS, why: noResult });
  for (const s of allSteps) {
    const ctx = stepCtx(s);
    reads.set(s, (reading = []));
    bodyChecks(s, ctx);
    bare(s.for_each, { roots: BASE_ROOTS, why: noResult });
    const withResult = resultCtx(ctx);
    bare(s.until?.condition, withResult);
    for (const o of Object.values(s.outputs)) valueExpr(o, withResult);
    reading = undefined;
    if (s.rollback) bodyChecks(s.rollback, { roots: [...ctx.roots, 'self'], why: noResult, self: s }, true);
  }
  for (const c of Object.values(model.connections)) {
    templates(c.config, c.path, { roots: ['params', 'env', 'secrets', 'run'], why: { steps: 'connections are opened before steps run' } });
  }
  for (const m of Object.values(model.measure)) valueExpr(m, { roots: BASE_ROOTS.filter((r) => r !== 'phase'), why: noResult });
  out.push(...checkShellQuote(model));
  return out;
}
