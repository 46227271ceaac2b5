import type { Expr } from './ast.js';

export interface Reference {
  /** Root name first, then member names and literal indexes as strings; null where an index is computed. */
  path: (string | null)[];
  start: number;
  end: number;
}

/**
 * Every access chain that starts at a root name, in source order: `steps.stop-app.outputs.x` gives
 * ['steps', 'stop-app', 'outputs', 'x']. A computed index ends the chain with null (its own
 * references are listed separately); a literal string or number index is part of the path.
 */
export function references(expr: Expr): readonly Reference[] {
  // ASTs are frozen and shared (parse.ts caches them by text): `${{ params.target }}` in a thousand
  // steps is one tree, and its references are found once.
  let refs = known.get(expr);
  if (!refs) {
    const out: Reference[] = [];
    walk(expr, out);
    refs = Object.freeze(out.sort((a, b) => a.start - b.start || b.end - a.end));
    known.set(expr, refs);
  }
  return refs;
}
const known = new WeakMap<Expr, readonly Reference[]>();

function walk(e: Expr, out: Reference[]): void {
  switch (e.kind) {
    case 'ident':
    case 'member':
    case 'index':
      chain(e, out);
      return;
    case 'list':
      e.items.forEach((x) => walk(x, out));
      return;
    case 'call':
      e.args.forEach((x) => walk(x, out));
      return;
    case 'unary':
      walk(e.operand, out);
      return;
    case 'binary':
      walk(e.left, out);
      walk(e.right, out);
      return;
    default:
      return;
  }
}

// Unwinds `a.b[c].d` from the outside in, then reads it from the root out.
function chain(e: Expr, out: Reference[]): void {
  const links: Expr[] = [];
  let base = e;
  while (base.kind === 'member' || base.kind === 'index') {
    links.unshift(base);
    base = base.object;
  }
  if (base.kind !== 'ident') walk(base, out);
  const ref: Reference | undefined = base.kind === 'ident' ? { path: [base.name], start: base.start, end: base.end } : undefined;
  let open = ref !== undefined;
  for (const link of links) {
    if (link.kind === 'index') walk(link.index, out);
    if (!ref || !open) continue;
    if (link.kind === 'member') {
      ref.path.push(link.name);
    } else if (link.kind === 'index' && link.index.kind === 'literal' && (typeof link.index.value === 'string' || typeof link.index.value === 'number')) {
      ref.path.push(String(link.index.value));
    } else {
      ref.path.push(null);
      open = false;
    }
    ref.end = link.end;
  }
  if (ref) out.push(ref);
}
