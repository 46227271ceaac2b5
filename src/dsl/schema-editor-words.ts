/**
 * What a field of the editor schema is, in words, for its hover and completion text
 * (`markdownDescription`): "a duration (use e.g. 250ms, 30s, 5m, 1h30m)", "one of `abort`,
 * `continue`", "a list of steps", "an integer or a ${{ }} expression". Made from the schema alone,
 * so a field added anywhere is described without being listed here.
 */
import type { JsonSchema } from './json-schema.js';
import { PATTERN_WORDS } from './pattern-words.js';
import { article, orList } from './schema-words.js';

export type Defs = Record<string, JsonSchema>;

const defName = (s: JsonSchema): string | undefined => (typeof s.$ref === 'string' ? s.$ref.replace('#/$defs/', '') : undefined);
const isMap = (s: JsonSchema | undefined) => !!s && (s.type === 'object' || s.properties !== undefined);
const spoken = (name: string) => name.replace(/_/g, ' ');
const an = (noun: string) => (/^[aeiou]/i.test(noun) ? `an ${noun}` : `a ${noun}`);
const plural = (noun: string) => (noun.endsWith('s') ? noun : `${noun}s`);

export function typeWords(s: JsonSchema, defs: Defs): string {
  const ref = defName(s);
  if (ref !== undefined) {
    const def = defs[ref];
    if (!def) return an(spoken(ref));
    // `expression` is "an expression", not "a string or a boolean": a named kind of value says its name.
    if (typeof def.pattern !== 'string' && !def.anyOf && !def.oneOf && !def.$ref && !isMap(def)) return an(spoken(ref));
    return typeWords(def, defs);
  }
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (Array.isArray(s.enum)) return `one of ${orList(s.enum.map((v) => `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``))}`;
  if (typeof s.pattern === 'string') {
    const w = PATTERN_WORDS[s.pattern];
    if (w) return w.example ? `${w.noun} (${w.example})` : w.noun;
  }
  const alts = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(alts) && !isMap(s)) return orList(uniq(alts.map((b) => typeWords(b, defs))));
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
  if (!types.length) return isMap(s) || Array.isArray(s.oneOf) ? 'a map' : 'any value';
  return orList(types.map((t) => (t === 'array' ? listWords(s, defs) : t === 'object' ? mapWords(s, defs) : article(t))));
}

function listWords(s: JsonSchema, defs: Defs): string {
  const items = s.items as JsonSchema | undefined;
  if (!items || typeof items !== 'object') return 'a list';
  const ref = defName(items);
  if (ref !== undefined && isMap(defs[ref])) return `a list of ${plural(spoken(ref))}`;
  return `a list, each ${typeWords(items, defs)}`;
}

function mapWords(s: JsonSchema, defs: Defs): string {
  const values = s.additionalProperties;
  if (!values || typeof values !== 'object' || s.properties) return 'a map';
  const ref = defName(values as JsonSchema);
  if (ref !== undefined && isMap(defs[ref])) return `a map of ${plural(spoken(ref))} by name`;
  const words = typeWords(values as JsonSchema, defs);
  return words === 'any value' ? 'a map' : `a map, each value ${words}`;
}

const uniq = <T>(xs: T[]) => [...new Set(xs)];

/** Markdown of a plain description: backtick spans stay code, the rest is escaped so `*`, `_`, `<` stay literal. */
export function markdownOf(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/[\\*_[\]<>#|]/g, '\\$&')))
    .join('');
}
