/*
 * Evaluation semantics (spec §3), decided as an ops engineer would expect them:
 *
 * - No implicit coercion. `1 == '1'` is false; `==`/`!=` compare lists and objects deeply.
 *   `< <= > >=` take two numbers or two strings (code-unit order); anything else is EXPR_TYPE.
 *   `+` adds numbers, concatenates strings or lists; `- * / %` take numbers; dividing by zero, or a
 *   result that is not a finite number, is EXPR_EVAL. Durations are plain numbers (ms).
 * - `&&`, `||`, `!` take booleans or null (null counts as false) and give a boolean; they
 *   short-circuit. Any other operand type is EXPR_TYPE ("expected a boolean, got number").
 * - `x in y`: element of a list (deep equality), substring of a string, key of an object; `in null`
 *   is false (an absent collection holds nothing). Other right-hand types are EXPR_TYPE.
 * - A missing property is null; `.name` or `[i]` on null is null; an index out of range (negative
 *   included) is null. `.name` on a number, string, boolean or list is EXPR_TYPE (it is a typo,
 *   not an absent value). Lists take integer indexes, objects string keys, strings give a character.
 *   Only own properties are visible (`x.constructor` is null, never a JavaScript function).
 * - A root name missing from the scope is EXPR_EVAL: the validator rejects unknown roots, so this
 *   means the root is not available here (e.g. `result` outside expect/until/outputs).
 * - UNKNOWN (a value not known yet, in plans and dry runs) propagates: an operation with an unknown
 *   operand is UNKNOWN, except where the known part decides (Kleene logic: `false && ?` and
 *   `? && false` are false, `true || ?` and `? || true` are true; `[1, ?] == [2, ?]` is false;
 *   `default(5, ?)` is 5). When the left side of `&&`/`||` is unknown, an error on the right side
 *   gives UNKNOWN too, since the real run might never evaluate it.
 * - Grammar decisions (parser.ts, build-ast.ts): a leading `!` negates the whole comparison
 *   (`!a == b` is `!(a == b)`, the spec's order) but `a == !b` also works; comparisons do not chain;
 *   unknown string escapes keep their backslash (`'^\d+$'` is a usable regex).
 * - Functions: see functions.ts; a null first argument means "absent" (predicates false, length 0,
 *   transforms return null); `default(x, fallback)` evaluates the fallback only when x is null.
 */
import { type BinaryOp, type Expr, ROOTS } from './ast.js';
import { errorAt, ExprError } from './errors.js';
import { callFunction, contains } from './functions.js';
import { deepEqual, isObject, typeName, UNKNOWN } from './values.js';

export type Scope = Record<string, unknown>;
type Value = unknown;

/** Evaluates an AST in a scope. Throws ExprError (EXPR_EVAL / EXPR_TYPE) at the offending node. */
export function evaluate(expr: Expr, scope: Scope): unknown {
  return evalNode(expr, scope);
}

function evalNode(e: Expr, scope: Scope): Value {
  switch (e.kind) {
    case 'literal':
    case 'duration':
      return e.value;
    case 'list':
      return e.items.map((item) => evalNode(item, scope));
    case 'ident':
      return lookupRoot(e, scope);
    case 'member':
      return member(e, evalNode(e.object, scope));
    case 'index':
      return index(e, evalNode(e.object, scope), evalNode(e.index, scope));
    case 'call':
      return call(e, scope);
    case 'unary':
      return unary(e, evalNode(e.operand, scope));
    case 'binary':
      if (e.op === '&&' || e.op === '||') return logical(e, scope);
      return binary(e, evalNode(e.left, scope), evalNode(e.right, scope));
  }
}

function lookupRoot(e: Extract<Expr, { kind: 'ident' }>, scope: Scope): Value {
  if (Object.hasOwn(scope, e.name)) return scope[e.name] ?? null;
  if (ROOTS.includes(e.name)) throw errorAt('EXPR_EVAL', `'${e.name}' is not available here`, e);
  const root = e.name.split('-')[0];
  const hint = e.name.includes('-') && ROOTS.includes(root) ? ` (to subtract, put spaces around '-')` : '';
  throw errorAt('EXPR_EVAL', `unknown name '${e.name}'${hint}`, e);
}

function member(e: Extract<Expr, { kind: 'member' }>, obj: Value): Value {
  if (obj === UNKNOWN) return UNKNOWN;
  if (obj == null) return null;
  if (!isObject(obj)) throw errorAt('EXPR_TYPE', `cannot read '.${e.name}' of a ${typeName(obj)}`, e);
  return Object.hasOwn(obj, e.name) ? (obj[e.name] ?? null) : null;
}

function index(e: Extract<Expr, { kind: 'index' }>, obj: Value, i: Value): Value {
  if (obj === UNKNOWN || i === UNKNOWN) return UNKNOWN;
  if (obj == null) return null;
  if (Array.isArray(obj) || typeof obj === 'string') {
    if (typeof i !== 'number' || !Number.isInteger(i)) {
      throw errorAt('EXPR_TYPE', `a ${typeName(obj)} index must be a whole number, got ${typeName(i)}`, e.index);
    }
    return i >= 0 && i < obj.length ? (obj[i] ?? null) : null;
  }
  if (isObject(obj)) {
    if (typeof i !== 'string') throw errorAt('EXPR_TYPE', `an object key must be a string, got ${typeName(i)}`, e.index);
    return Object.hasOwn(obj, i) ? (obj[i] ?? null) : null;
  }
  throw errorAt('EXPR_TYPE', `cannot index a ${typeName(obj)}`, e);
}

function call(e: Extract<Expr, { kind: 'call' }>, scope: Scope): Value {
  if (e.name === 'default') {
    const x = evalNode(e.args[0], scope);
    return x == null ? evalNode(e.args[1], scope) : x;
  }
  const args = e.args.map((a) => evalNode(a, scope));
  if (args.includes(UNKNOWN)) return UNKNOWN;
  return callFunction(e, args);
}

function unary(e: Extract<Expr, { kind: 'unary' }>, v: Value): Value {
  if (v === UNKNOWN) return UNKNOWN;
  if (e.op === '!') return !bool(v, e.operand);
  if (typeof v !== 'number') throw errorAt('EXPR_TYPE', `cannot negate a ${typeName(v)}`, e.operand);
  return -v;
}

function bool(v: Value, node: Expr): boolean {
  if (v == null) return false;
  if (typeof v !== 'boolean') throw errorAt('EXPR_TYPE', `expected a boolean, got ${typeName(v)}`, node);
  return v;
}

function logical(e: Extract<Expr, { kind: 'binary' }>, scope: Scope): Value {
  // `&&` stops at false, `||` stops at true.
  const decisive = e.op === '||';
  const left = evalNode(e.left, scope);
  if (left !== UNKNOWN) {
    if (bool(left, e.left) === decisive) return decisive;
    const right = evalNode(e.right, scope);
    return right === UNKNOWN ? UNKNOWN : bool(right, e.right);
  }
  try {
    const right = evalNode(e.right, scope);
    return right !== UNKNOWN && bool(right, e.right) === decisive ? decisive : UNKNOWN;
  } catch (err) {
    if (err instanceof ExprError) return UNKNOWN;
    throw err;
  }
}

const VERBS: Partial<Record<BinaryOp, string>> = { '-': 'subtract', '*': 'multiply', '/': 'divide', '%': 'take the remainder of' };

function binary(e: Extract<Expr, { kind: 'binary' }>, l: Value, r: Value): Value {
  if (e.op === '==' || e.op === '!=') {
    const eq = deepEqual(l, r);
    return eq === UNKNOWN ? UNKNOWN : eq === (e.op === '==');
  }
  if (l === UNKNOWN || r === UNKNOWN) return UNKNOWN;
  switch (e.op) {
    case 'in':
      return membership(e, l, r);
    case '<':
    case '<=':
    case '>':
    case '>=':
      return compare(e, l, r);
    case '+':
      if (typeof l === 'number' && typeof r === 'number') return finite(e, l + r);
      if (typeof l === 'string' && typeof r === 'string') return l + r;
      if (Array.isArray(l) && Array.isArray(r)) return [...l, ...r];
      throw errorAt('EXPR_TYPE', `cannot add ${typeName(l)} and ${typeName(r)}`, e);
    default:
      return arithmetic(e, l, r);
  }
}

function membership(e: Extract<Expr, { kind: 'binary' }>, l: Value, r: Value): Value {
  try {
    return contains(r, l);
  } catch (err) {
    if (err instanceof ExprError) throw errorAt('EXPR_TYPE', `'in': ${err.message}`, e);
    throw err;
  }
}

function compare(e: Extract<Expr, { kind: 'binary' }>, l: Value, r: Value): boolean {
  const comparable = (typeof l === 'number' && typeof r === 'number') || (typeof l === 'string' && typeof r === 'string');
  if (!comparable) throw errorAt('EXPR_TYPE', `cannot compare ${typeName(l)} with ${typeName(r)}`, e);
  const a = l as number | string;
  const b = r as number | string;
  switch (e.op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    default:
      return a >= b;
  }
}

function arithmetic(e: Extract<Expr, { kind: 'binary' }>, l: Value, r: Value): number {
  if (typeof l !== 'number' || typeof r !== 'number') {
    throw errorAt('EXPR_TYPE', `cannot ${VERBS[e.op]} ${typeName(l)} and ${typeName(r)}`, e);
  }
  if ((e.op === '/' || e.op === '%') && r === 0) throw errorAt('EXPR_EVAL', 'division by zero', e.right);
  switch (e.op) {
    case '-':
      return finite(e, l - r);
    case '*':
      return finite(e, l * r);
    case '/':
      return finite(e, l / r);
    default:
      return finite(e, l % r);
  }
}

function finite(e: Expr, n: number): number {
  if (!Number.isFinite(n)) throw errorAt('EXPR_EVAL', 'result is too large to be a number', e);
  return n;
}
