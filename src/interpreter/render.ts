/** One-line rendering of a step body, as `plan` and `--step` show it. */
import { stringifyValue } from '../dsl/expr/index.js';
import { stepType } from '../steps/registry.js';

export function renderBody(type: string, body: unknown): string {
  const t = stepType(type);
  if (t) {
    try {
      return t.render(body as Record<string, unknown>);
    } catch {
      return `${type} ${stringifyValue(body)}`;
    }
  }
  switch (type) {
    case 'wait':
      return `wait ${stringifyValue(body)}`;
    case 'approve': {
      const b = body as { message?: string; timeout?: string };
      return `approve: ${JSON.stringify(b.message ?? '')}${b.timeout ? ` (timeout ${b.timeout})` : ''}`;
    }
    case 'assert':
      return `assert ${(Array.isArray(body) ? body : [body]).map((e) => stringifyValue(e)).join(' && ')}`;
    case 'log':
      return `log: ${stringifyValue(body)}`;
    case 'runbook': {
      const b = body as { file?: string; params?: Record<string, unknown> };
      const params = Object.entries(b.params ?? {}).map(([k, v]) => `${k}=${stringifyValue(v)}`);
      return `runbook ${b.file}${params.length ? ` (${params.join(', ')})` : ''}`;
    }
    default:
      return `${type} ${stringifyValue(body)}`;
  }
}
