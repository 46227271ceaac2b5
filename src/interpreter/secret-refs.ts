/**
 * Resume must give later steps exactly the values the crashed run had, while the journal never holds a
 * secret in clear. Next to a masked value (a step's outputs and result), `secret_refs` records which
 * secret each `***` stands for — its offset in the masked string, the secret's name and the form it
 * appeared in — so resume rebuilds the value from the secrets as they are now.
 *
 * The masker (dsl/expr/secret-masker.ts) stays the one rule of what is masked: every record is checked
 * against its output, and a string the masker masks differently than this module can explain (new
 * encodings, overlapping secrets) is recorded as `lost`, so resume knows it cannot rebuild it and says so.
 */
import type { SecretMasker } from '../dsl/expr/index.js';

const MASK = '***';
export type SecretForm = 'raw' | 'json' | 'url';
export type Path = (string | number)[];

export interface SecretRef {
  /** Where the value sits inside the event field (`outputs`, `result`). */
  path: Path;
  /** [offset of the `***` in the masked string, secret name, form]; absent when it cannot be rebuilt. */
  at?: [number, string, SecretForm][];
  lost?: true;
}

interface Form {
  text: string;
  name: string;
  form: SecretForm;
}

function formsOf(secrets: Record<string, string>): Form[] {
  const out: Form[] = [];
  for (const [name, value] of Object.entries(secrets)) {
    if (!value) continue;
    out.push({ text: value, name, form: 'raw' });
    const json = JSON.stringify(value).slice(1, -1);
    if (json !== value) out.push({ text: json, name, form: 'json' });
    const url = encodeURIComponent(value);
    if (url !== value && url !== json) out.push({ text: url, name, form: 'url' });
  }
  return out.sort((a, b) => b.text.length - a.text.length);
}

const encode = (value: string, form: SecretForm) => (form === 'json' ? JSON.stringify(value).slice(1, -1) : form === 'url' ? encodeURIComponent(value) : value);

/** The refs of one string, or undefined when the masker masks it in a way these refs cannot rebuild. */
function refsOfString(s: string, forms: Form[], masker: SecretMasker): [number, string, SecretForm][] | undefined {
  const spans: { from: number; to: number; f?: Form }[] = [];
  for (let i = 0; i < s.length; i++) {
    const f = forms.find((x) => s.startsWith(x.text, i));
    if (!f) continue;
    const last = spans.at(-1);
    if (last && i < last.to) {
      // Overlapping secrets are masked as one `***`: which secrets it covered cannot be told apart.
      last.to = Math.max(last.to, i + f.text.length);
      last.f = undefined;
    } else spans.push({ from: i, to: i + f.text.length, f });
  }
  let masked = '';
  let pos = 0;
  const at: [number, string, SecretForm][] = [];
  for (const sp of spans) {
    masked += s.slice(pos, sp.from);
    if (!sp.f) return undefined;
    at.push([masked.length, sp.f.name, sp.f.form]);
    masked += MASK;
    pos = sp.to;
  }
  masked += s.slice(pos);
  return masked === masker.mask(s) ? at : undefined;
}

/** Secret refs of every string inside `value` that holds a secret (paths relative to `value`). */
export function secretRefsOf(value: unknown, secrets: Record<string, string>, masker: SecretMasker, base: Path = []): SecretRef[] {
  if (!masker.size) return [];
  const forms = formsOf(secrets);
  const out: SecretRef[] = [];
  const walk = (v: unknown, path: Path, depth: number) => {
    if (typeof v === 'string') {
      if (masker.mask(v) === v) return;
      const at = refsOfString(v, forms, masker);
      out.push(at ? { path, at } : { path, lost: true });
    } else if (v && typeof v === 'object' && depth < 12) {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i], depth + 1));
      else
        for (const [k, x] of Object.entries(v)) {
          // A masked key cannot be found again by its path.
          if (masker.mask(k) !== k) out.push({ path: [...path, k], lost: true });
          else walk(x, [...path, k], depth + 1);
        }
    }
  };
  walk(value, base, 0);
  return out;
}

/**
 * Rebuild the secrets of a masked value from its refs (paths relative to `root`, an event's fields).
 * Returns the paths that could not be rebuilt (lost, a missing secret, or a value that no longer fits).
 */
export function restoreSecretRefs(root: Record<string, unknown>, refs: SecretRef[] | undefined, secrets: Record<string, string>): string[] {
  const lost: string[] = [];
  for (const ref of refs ?? []) {
    const where = ref.path.join('.');
    const parent = ref.path.slice(0, -1).reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k as string] : undefined), root);
    const key = ref.path.at(-1)!;
    const cur = parent && typeof parent === 'object' ? (parent as Record<string, unknown>)[key as string] : undefined;
    if (ref.lost || !ref.at || typeof cur !== 'string') {
      lost.push(where);
      continue;
    }
    let s = cur;
    let ok = true;
    // Right to left, so earlier offsets stay valid.
    for (const [offset, name, form] of [...ref.at].reverse()) {
      const value = secrets[name];
      if (!value || s.slice(offset, offset + MASK.length) !== MASK) {
        ok = false;
        break;
      }
      s = s.slice(0, offset) + encode(value, form) + s.slice(offset + MASK.length);
    }
    if (!ok) lost.push(where);
    else (parent as Record<string, unknown>)[key as string] = s;
  }
  return lost;
}
