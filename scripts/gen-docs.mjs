// Writes docs/reference.md: every field of the runbook DSL, from the validator's schema (runbookSchema(), the one
// source of truth), so the reference cannot drift from what `validate` accepts.
import { writeFileSync } from 'node:fs';

export function renderReference(schema) {
  const defs = schema.$defs;
  const out = [];
  const deref = (s) => (s && s.$ref ? { ...defs[s.$ref.replace('#/$defs/', '')], ...s, $ref: undefined } : s ?? {});
  const typeOf = (s0) => {
    const s = s0 ?? {};
    if (s.$ref) return s.$ref.replace('#/$defs/', '');
    if (s.enum) return s.enum.map((e) => '`' + JSON.stringify(e) + '`').join(', ');
    if (s.anyOf || s.oneOf) return (s.anyOf ?? s.oneOf).map(typeOf).filter(Boolean).join(' or ');
    if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
    if (s.type === 'array') return `list of ${typeOf(s.items) || 'values'}`;
    if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return `map of ${typeOf(s.additionalProperties) || 'values'}`;
    return Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? '');
  };
  const esc = (t) => String(t ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const table = (title, s0, note) => {
    const s = deref(s0);
    out.push(`## ${title}`, '');
    if (s.description) out.push(esc(s.description), '');
    if (note) out.push(note, '');
    const req = new Set(s.required ?? []);
    const props = s.properties ?? {};
    if (!Object.keys(props).length) {
      out.push(`Type: ${typeOf(s0)}`, '');
      return;
    }
    out.push('| field | type | required | description |', '| --- | --- | --- | --- |');
    for (const [k, v] of Object.entries(props)) {
      const d = deref(v);
      out.push(`| \`${k}\` | ${esc(typeOf(v))} | ${req.has(k) ? 'yes' : ''} | ${esc(v.description ?? d.description)} |`);
    }
    out.push('');
  };
  out.push('# Runbook DSL field reference', '', 'Generated from the runbook schema (`src/dsl/schema.ts`) by `npm run gen` — do not edit. The guide with semantics and examples is [dsl.md](dsl.md).', '');
  table('Runbook document', schema);
  for (const name of ['objectives', 'param', 'secret', 'defaults', 'retry', 'until', 'phase']) table(name, { $ref: `#/$defs/${name}` });
  const step = defs.step;
  const bodyKeys = step.oneOf.map((o) => o.required[0]);
  table('step (common fields)', { ...step, properties: Object.fromEntries(Object.entries(step.properties).filter(([k]) => !bodyKeys.includes(k))) }, `Plus exactly one body key: ${bodyKeys.map((k) => `\`${k}\``).join(', ')}.`);
  const rb = defs.rollback;
  table('rollback', { ...rb, properties: Object.fromEntries(Object.entries(rb.properties).filter(([k]) => !bodyKeys.includes(k))) }, 'Plus exactly one body key, as a step.');
  for (const k of bodyKeys) {
    const body = deref(step.properties[k]);
    if (body.properties) table(`${k} step body`, step.properties[k]);
    else table(`${k} step body`, step.properties[k]);
    const conds = body.allOf ?? [];
    const lines = conds.filter((c) => c.if && c.then).map((c) => `- \`action: ${c.if.properties?.action?.const ?? JSON.stringify(c.if.properties)}\` requires ${(c.then.required ?? []).map((r) => `\`${r}\``).join(', ') || '—'}`);
    if (lines.length) out.push('Per action:', '', ...lines, '');
  }
  for (const [k, v] of Object.entries(defs.connection.properties)) table(`${k} connection`, v);
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { runbookSchema } = await import('../dist/src/dsl/schema.js');
  const schema = runbookSchema();
  writeFileSync(new URL('../docs/reference.md', import.meta.url), renderReference(schema));
  console.log('wrote docs/reference.md');
}
