/**
 * SHELL_QUOTE (spec §12): a `${{ }}` of a shell script (`shell.run`, a docker string `cmd`) in a
 * context where its value cannot reach the script safely, reported at the `${{` in the YAML file.
 * The rule itself lives in dsl/expr/shell-quote.ts; the interpreter applies the same one.
 */
import type { Diagnostic } from './errors.js';
import type { BodyModel, RunbookModel } from './model.js';
import { parseTemplate, SHELL_VALUE_PREFIX, shellPlaceholders, shellQuoteMessage } from './expr/index.js';
import { stepType } from '../steps/registry.js';

export function checkShellQuote(model: RunbookModel): Diagnostic[] {
  const out: Diagnostic[] = [];
  const src = model.src;
  const check = (b: BodyModel) => {
    const fields = stepType(b.type)?.shellQuoted;
    if (!fields?.length || !b.body || typeof b.body !== 'object' || Array.isArray(b.body)) return;
    const body = b.body as Record<string, unknown>;
    for (const field of fields) {
      const text = body[field];
      if (typeof text !== 'string' || !text.includes('${{')) continue;
      let parts;
      try {
        parts = parseTemplate(text);
      } catch {
        continue; // a syntax error, reported by checkExpressions
      }
      const path = [...b.path, field];
      for (const p of shellPlaceholders(text, parts)) {
        if (p.context.kind !== 'unsafe') continue;
        out.push({ code: 'SHELL_QUOTE', message: shellQuoteMessage(p.context), ...src.at(src.valueOffset(path, p.offset) ?? src.pos(path).offset ?? 0) });
      }
    }
    const env = body.env;
    if (env && typeof env === 'object' && !Array.isArray(env)) {
      for (const name of Object.keys(env)) {
        if (!name.startsWith(SHELL_VALUE_PREFIX)) continue;
        out.push({
          code: 'SHELL_QUOTE',
          message: `env '${name}': names starting with ${SHELL_VALUE_PREFIX} are reserved for the values of \${{ }} in the script`,
          ...src.pos([...b.path, 'env', name], { key: true }),
        });
      }
    }
  };
  const steps = [...model.phases.flatMap((p) => [...p.steps, ...p.finally]), ...model.finally];
  for (const s of steps) {
    check(s);
    if (s.rollback) check(s.rollback);
  }
  return out;
}
