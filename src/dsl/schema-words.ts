/**
 * The words schema errors are told in: what a schema asks for ("a list of integers", "a duration
 * (e.g. 30s, 5m)"), what a value is ("a map", "'abc'"), which field and which step a path is about.
 */
import type { Path } from './load.js';
import type { JsonSchema } from './json-schema.js';
import { DURATION_PATTERN } from './duration.js';

export function orList(xs: string[]): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`;
}

/** "an integer", "a list of expressions", "a ${{ }} expression", … */
export function describeSchema(s: JsonSchema): string {
  const ref = typeof s.$ref === 'string' ? s.$ref.replace('#/$defs/', '') : undefined;
  if (ref === 'expression_string') return 'a ${{ }} expression';
  if (ref === 'expression') return 'an expression';
  if (ref === 'expressions') return 'an expression or a list of expressions';
  if (ref === 'duration') return 'a duration (e.g. 30s, 5m)';
  if (ref) return `a ${ref.replace(/_/g, ' ')}`;
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return `one of ${s.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) return orList(((s.anyOf ?? s.oneOf) as JsonSchema[]).map(describeSchema));
  if (s.pattern === DURATION_PATTERN) return 'a duration (e.g. 30s, 5m)';
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
  if (!types.length) return 'a value of another form';
  return orList(
    types.map((t) => {
      if (t === 'array' && s.items && typeof s.items === 'object') {
        // `[200, "${{ x }}"]` is allowed too, but "a list of integers" is what to say.
        const items = s.items as JsonSchema;
        const alts = Array.isArray(items.anyOf) ? (items.anyOf as JsonSchema[]).filter((b) => b.$ref !== '#/$defs/expression_string') : undefined;
        const item = alts?.length === 1 ? describeSchema(alts[0]) : describeSchema(items);
        return item.startsWith('a ') || item.startsWith('an ') ? `a list of ${plural(item)}` : 'a list';
      }
      return article(t);
    }),
  );
}

function plural(itemPhrase: string): string {
  const bare = itemPhrase.replace(/^an? /, '');
  if (bare === '${{ }} expression') return '${{ }} expressions';
  return bare.replace(/^(\w+)/, (w) => (w.endsWith('s') ? w : `${w}s`));
}

export function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** `tail`, `command[0]`, `expect_status[1]`: the field a path ends at. */
export function fieldName(path: Path): string {
  let i = path.length - 1;
  let index = '';
  while (i >= 0 && typeof path[i] === 'number') index = `[${path[i]}]` + index, i--;
  return i >= 0 ? `${path[i]}${index}` : index;
}

/** "step 'restore': " / "phase 'detect': " / "connection 'db': " — what the path is about. */
export function contextOf(data: unknown, path: Path): string {
  let node: unknown = data;
  let label = '';
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    node = node && typeof node === 'object' ? (node as Record<string | number, unknown>)[seg as string] : undefined;
    const parentKey = path[i - 1];
    const id = node && typeof node === 'object' && !Array.isArray(node) ? (node as { id?: unknown }).id : undefined;
    if (typeof seg === 'number' && (parentKey === 'phases' || parentKey === 'steps' || parentKey === 'finally')) {
      const what = parentKey === 'phases' ? 'phase' : 'step';
      label = typeof id === 'string' ? `${what} '${id}'` : `${what} ${seg + 1}${label ? ` of ${label}` : ''}`;
    } else if (seg === 'rollback' && label.startsWith('step')) label = `${label} rollback`;
    else if (parentKey === 'connections' && typeof seg === 'string' && i === 1) label = `connection '${seg}'`;
    else if (parentKey === 'params' && typeof seg === 'string' && i === 1) label = `param '${seg}'`;
    else if (parentKey === 'secrets' && typeof seg === 'string' && i === 1) label = `secret '${seg}'`;
  }
  return label ? `${label}: ` : '';
}

export function describeType(v: unknown): string {
  if (v === null) return 'nothing (null)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `'${v.length > 40 ? v.slice(0, 40) + '…' : v}'`;
  return `${typeof v} ${String(v)}`;
}

export function keysOf(s: unknown): string[] {
  const sch = s as JsonSchema | undefined;
  if (!sch) return [];
  if (Array.isArray(sch.required)) return sch.required.map(String);
  const alts = (sch.anyOf ?? sch.oneOf) as JsonSchema[] | undefined;
  return Array.isArray(alts) ? alts.flatMap(keysOf) : [];
}

export function article(t: string): string {
  if (t === 'object') return 'a map';
  if (t === 'array') return 'a list';
  if (t === 'integer') return 'an integer';
  if (t === 'null') return 'null';
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}
