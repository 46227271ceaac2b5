/**
 * Resolving `${{ }}` in step bodies and evaluating bare expressions (when/expect/assert/until/
 * for_each). Parsed templates are cached by text: the same body is resolved on every attempt.
 */
import {
  evaluate,
  parseBareExpression,
  parseTemplate,
  renderShellTemplate,
  renderTemplate,
  renderUrlTemplate,
  ExprError,
  isSensitiveHeader,
  type Expr,
  type Scope,
  type TemplatePart,
} from '../dsl/expr/index.js';
import type { Located } from '../dsl/model.js';
import type { SourceFile } from '../dsl/load.js';

const templates = new Map<string, TemplatePart[]>();
const bares = new Map<string, { expr: Expr; offset: number }>();

function templateOf(text: string): TemplatePart[] {
  let t = templates.get(text);
  if (!t) templates.set(text, (t = parseTemplate(text)));
  return t;
}

export interface ResolveOptions {
  /**
   * Top-level body fields holding a shell script (shell `run`, docker `cmd` as a string). Their
   * values reach the script as environment variables (spec §12, dsl/expr/shell-quote.ts): the field
   * becomes the script with references to them, and the variables are added to the body's `env`.
   * A list in such a field is an argv (no shell), so its elements are left as they are.
   */
  quoteFields?: readonly string[];
  /**
   * Top-level fields holding a URL (http `url`, connection URLs): each value is percent-encoded for
   * the part of the URL it sits in (dsl/expr/url-quote.ts).
   */
  urlFields?: readonly string[];
  /** Show unknown parts as their `${{ }}` source (plan) instead of giving UNKNOWN. */
  keepUnknown?: boolean;
  /**
   * For an operator to read (plan, --step, dry run), never to run: shell fields show each value in
   * place, quoted for its context, and get no variables.
   */
  display?: boolean;
}

/** Resolve every `${{ }}` inside a value (strings, lists, maps), keeping whole-expression types. */
export function resolveValue(value: unknown, scope: Scope, opts: ResolveOptions = {}): unknown {
  if ((!opts.quoteFields?.length && !opts.urlFields?.length) || !value || typeof value !== 'object' || Array.isArray(value)) {
    return resolveInner(value, scope, opts.keepUnknown);
  }
  const out: Record<string, unknown> = {};
  let vars: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string' && opts.urlFields?.includes(k) && v.includes('${{')) {
      out[k] = renderUrlTemplate(templateOf(v), scope, { keepUnknown: opts.keepUnknown });
      continue;
    }
    if (typeof v !== 'string' || !opts.quoteFields?.includes(k) || !v.includes('${{')) {
      out[k] = resolveInner(v, scope, opts.keepUnknown);
      continue;
    }
    const r = renderShellTemplate(v, templateOf(v), scope, { keepUnknown: opts.keepUnknown, display: opts.display });
    if (typeof r === 'object') {
      out[k] = r.script;
      vars = { ...vars, ...r.env };
    } else out[k] = r;
  }
  if (vars) {
    const env = out.env;
    // The env of a dry run may be UNKNOWN; only a real one carries values.
    out.env = { ...(env && typeof env === 'object' ? env : {}), ...vars };
  }
  return out;
}

function resolveInner(value: unknown, scope: Scope, keepUnknown: boolean | undefined): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${{')) return value;
    return renderTemplate(templateOf(value), scope, { keepUnknown });
  }
  if (Array.isArray(value)) return value.map((v) => resolveInner(v, scope, keepUnknown));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveInner(v, scope, keepUnknown);
    return out;
  }
  return value;
}

/**
 * A body as `plan` shows it: the values of Authorization-like headers replaced by `***` (a run masks
 * them whole as secrets, spec §3; a plan has no masker, and no secret values, but params may build them).
 */
export function hideSensitiveHeaders(body: unknown): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
  const headers = (body as { headers?: unknown }).headers;
  if (!headers || typeof headers !== 'object' || Array.isArray(headers)) return body;
  const hidden = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, isSensitiveHeader(k) && typeof v === 'string' ? '***' : v]));
  return { ...body, headers: hidden };
}

/** A bare expression (or `${{ }}`-wrapped one); non-strings are literals. */
export function evaluateBare(value: unknown, scope: Scope): unknown {
  if (typeof value !== 'string') return value;
  let b = bares.get(value);
  if (!b) bares.set(value, (b = parseBareExpression(value)));
  try {
    return evaluate(b.expr, scope);
  } catch (e) {
    throw e instanceof ExprError ? e.shift(b.offset) : e;
  }
}

/** outputs/measure: a template when it holds `${{`, else a bare expression. */
export function evaluateValue(value: unknown, scope: Scope): unknown {
  if (typeof value === 'string' && value.includes('${{')) return resolveValue(value, scope);
  return evaluateBare(value, scope);
}

/** `file:line:col: message` for an expression error at a located value. */
export function locateError(e: unknown, src: SourceFile, loc: Pick<Located, 'path' | 'value'>): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof ExprError && typeof loc.value === 'string') {
    const offset = src.valueOffset(loc.path, e.offset) ?? (src.textOffset(loc.path, loc.value) ?? 0) + e.offset;
    const p = src.at(offset);
    return `${p.file}:${p.line}:${p.col}: ${msg}`;
  }
  const p = src.pos(loc.path);
  return `${p.file}:${p.line}:${p.col}: ${msg}`;
}
