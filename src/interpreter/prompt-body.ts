/**
 * The whole body of a step as the operator approves it (`--step`, `confirm: true`): every field,
 * resolved as far as known, as YAML — a multi-line script or query stays multi-line — with secrets
 * masked. `render` (plan's one line) cuts long commands; a prompt must show what it asks about.
 */
import { stringify } from 'yaml';
import { UNKNOWN } from '../dsl/expr/index.js';
import type { SecretMasker } from '../dsl/expr/secret-masker.js';

export function renderPromptBody(type: string, body: unknown, masker: SecretMasker): string {
  try {
    const text = stringify({ [type]: masker.maskDeep(plain(body)) }, { lineWidth: 0 });
    return text.trimEnd();
  } catch {
    return `${type}: (cannot be shown)`;
  }
}

/** Unknown parts (a dry run) read `unknown`; other values as they are. */
function plain(v: unknown): unknown {
  if (v === UNKNOWN) return 'unknown';
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}
