import { secretForms } from './secret-forms.js';

const MASK = '***';

/**
 * An event's envelope: never masked. These are the tool's own words (ISO time, event type, run id,
 * runbook id, step and phase addresses, the planned outline of ids that resume compares, source
 * positions), which readers parse; masking a short secret inside `type` once made a whole journal
 * unreadable.
 */
const ENVELOPE = new Set(['ts', 'type', 'run', 'runbook', 'step', 'phase', 'outline', 'where']);

/** Headers whose values are credentials, whatever they hold: masked whole. */
const SENSITIVE_HEADER = /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|apikey|x-auth-token|x-access-token|x-csrf-token|private-token)$|token|secret|passw|credential|session/i;

export const isSensitiveHeader = (name: string) => SENSITIVE_HEADER.test(name);

// Shorter header values are not credentials (and masking them would mangle output).
const MIN_HEADER_SECRET = 4;

/**
 * Replaces every occurrence of every secret with `***`, also inside longer strings, in every form
 * the tool may write it (secret-forms.ts: JSON-escaped, percent-encoded, form-encoded, base64).
 * Overlapping secrets mask the union of what they cover. One compiled regex, rebuilt on `add`.
 */
export class SecretMasker {
  private readonly secrets = new Set<string>();
  private forms_: string[] = [];
  private any: RegExp | undefined;
  private each: RegExp | undefined;

  constructor(secrets: Iterable<string> = []) {
    for (const s of secrets) this.secrets.add(s);
    this.secrets.delete('');
    this.compile();
  }

  add(secret: string): void {
    if (secret === '' || this.secrets.has(secret)) return;
    this.secrets.add(secret);
    this.compile();
  }

  /**
   * The values of Authorization-like headers become secrets, whole, and so does the credential after
   * an auth scheme (`Bearer <token>`, `Basic <base64>`), which may be printed on its own.
   */
  addHeaders(headers: Record<string, unknown> | undefined): void {
    for (const [name, value] of Object.entries(headers ?? {})) {
      if (!isSensitiveHeader(name)) continue;
      // A response repeats some headers (Set-Cookie) as a list.
      for (const one of Array.isArray(value) ? value : [value]) {
        if (typeof one !== 'string') continue;
        const credential = /^[A-Za-z][\w-]*\s+(\S.*)$/.exec(one)?.[1];
        for (const v of [one.trim(), credential?.trim()]) if (v && v.length >= MIN_HEADER_SECRET) this.add(v);
      }
    }
  }

  /** The number of distinct non-empty secrets. */
  get size(): number {
    return this.secrets.size;
  }

  mask(text: string): string {
    if (!this.any || !this.each) return text;
    if (!this.any.test(text)) return text;
    // A lookahead finds the longest secret starting at every position, overlapping ones included.
    const covered: [number, number][] = [];
    for (const m of text.matchAll(this.each)) {
      const from = m.index;
      const to = from + m[1].length;
      const last = covered.at(-1);
      if (last && from < last[1]) last[1] = Math.max(last[1], to);
      else covered.push([from, to]);
    }
    let out = '';
    let pos = 0;
    for (const [from, to] of covered) {
      out += text.slice(pos, from) + MASK;
      pos = to;
    }
    return out + text.slice(pos);
  }

  /** Every form masked, longest first (for output that arrives in chunks: masked-output.ts). */
  get forms(): readonly string[] {
    return this.forms_;
  }

  /** A masked copy of the strings inside objects and arrays; keys are never masked (they are names, not values). */
  maskDeep<T>(value: T): T {
    return this.any ? (this.walk(value, new Map()) as T) : value;
  }

  /** A masked copy of an event: its values masked, its envelope (ENVELOPE) as it is. */
  maskEvent<T extends object>(event: T): T {
    if (!this.any) return event;
    const out: Record<string, unknown> = {};
    const seen = new Map<object, unknown>();
    for (const [k, v] of Object.entries(event)) out[k] = ENVELOPE.has(k) ? v : this.walk(v, seen);
    return out as T;
  }

  private walk(v: unknown, seen: Map<object, unknown>): unknown {
    if (typeof v === 'string') return this.mask(v);
    if (typeof v !== 'object' || v === null) return v;
    if (seen.has(v)) return seen.get(v);
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      seen.set(v, out);
      for (const x of v) out.push(this.walk(x, seen));
      return out;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return v;
    const out: Record<string, unknown> = {};
    seen.set(v, out);
    for (const [k, x] of Object.entries(v)) out[k] = this.walk(x, seen);
    return out;
  }

  private compile(): void {
    this.forms_ = secretForms(this.secrets).sort((a, b) => b.length - a.length);
    if (this.forms_.length === 0) {
      this.any = this.each = undefined;
      return;
    }
    const alternation = this.forms_.map(escapeRegExp).join('|');
    this.any = new RegExp(alternation);
    this.each = new RegExp(`(?=(${alternation}))`, 'g');
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}
