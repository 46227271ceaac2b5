const MASK = '***';

/**
 * Replaces every occurrence of every secret with `***`, also inside longer strings. Each secret is
 * also masked in its JSON-escaped and URL-encoded forms (how it shows up in JSON output and URLs).
 * Overlapping secrets mask the union of what they cover. One compiled regex, rebuilt on `add`.
 */
export class SecretMasker {
  private readonly secrets = new Set<string>();
  private forms: string[] = [];
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

  /** A masked copy of strings inside objects and arrays (keys too); other values as they are. */
  maskDeep<T>(value: T): T {
    return this.any ? (this.walk(value, new Map()) as T) : value;
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
    for (const [k, x] of Object.entries(v)) out[this.mask(k)] = this.walk(x, seen);
    return out;
  }

  private compile(): void {
    const forms = new Set<string>();
    for (const s of this.secrets) {
      forms.add(s);
      forms.add(JSON.stringify(s).slice(1, -1));
      forms.add(encodeURIComponent(s));
    }
    this.forms = [...forms].sort((a, b) => b.length - a.length);
    if (this.forms.length === 0) {
      this.any = this.each = undefined;
      return;
    }
    const alternation = this.forms.map(escapeRegExp).join('|');
    this.any = new RegExp(alternation);
    this.each = new RegExp(`(?=(${alternation}))`, 'g');
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}
