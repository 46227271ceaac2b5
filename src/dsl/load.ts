import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { Document, Node, YAMLError } from 'yaml';
import type { Diagnostic } from './errors.js';
import { fastLoad, type FastFile } from './load-fast.js';
import { MAX_FILE_BYTES, MAX_NESTING, tooDeepAt } from './limits.js';

let yamlLib: typeof Yaml | undefined;
/** The `yaml` package, loaded on first need: a valid runbook read by the fast path never needs it. */
export function yaml(): typeof Yaml {
  return (yamlLib ??= createRequire(import.meta.url)('yaml') as typeof Yaml);
}

export type Path = ReadonlyArray<string | number>;

/**
 * A runbook file as read: its text, the plain data, and the YAML document with source ranges.
 * Every later stage asks `pos(path)` to point its errors at a line and column. The data comes from
 * the fast path when it vouches for the file (see load-fast.ts); the `yaml` document is then parsed
 * only when a position is first asked for, which a valid runbook never does.
 */
export class SourceFile {
  readonly data: unknown;
  readonly diagnostics: Diagnostic[] = [];
  #doc?: Document.Parsed;
  #fast?: FastFile;
  #lineStarts?: number[];

  constructor(
    readonly file: string,
    readonly source: string,
  ) {
    const deep = tooDeepAt(source);
    if (deep !== undefined) {
      this.diagnostics.push({ code: 'YAML_TOO_DEEP', message: `maps and lists nest more than ${MAX_NESTING} levels deep here: a runbook needs far fewer`, ...this.at(deep), severity: 'error' });
      return;
    }
    const fast = fastLoad(source);
    if (fast) {
      this.data = fast.data;
      this.#fast = fast;
      return;
    }
    const doc = this.doc;
    // One YAML error per line: a broken line (a tab, a bad indent) makes the parser report the
    // same line again in several ways, which only buries the first, real message.
    const linesWithError = new Set<number>();
    for (const e of [...doc.errors, ...doc.warnings]) {
      const isError = doc.errors.includes(e as never);
      const d = this.describeYamlError(e);
      if (isError) {
        if (linesWithError.has(d.line!)) continue;
        linesWithError.add(d.line!);
      }
      this.diagnostics.push({ ...d, severity: isError ? 'error' : 'warning' });
    }
    if (doc.errors.length) return;
    try {
      this.data = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      // yaml refuses aliases that expand without bound (a "billion laughs" file).
      const alias = /(?:^|[\s[{,])\*[^\s,\]}]/m.exec(source);
      const at = alias ? alias.index + alias[0].indexOf('*') : 0;
      const message = `aliases expand too far (${(e as Error).message.toLowerCase()}): use fewer nested aliases`;
      this.diagnostics.push({ code: 'YAML', message, ...this.at(at), severity: 'error' });
    }
  }

  /** The `yaml` document with source ranges, parsed on first use. */
  get doc(): Document.Parsed {
    if (!this.#doc) {
      this.#doc = yaml().parseDocument(this.source, { prettyErrors: false, uniqueKeys: true });
    }
    return this.#doc;
  }

  /** Whether the `yaml` document has been parsed (a valid runbook on the fast path never needs it). */
  get parsedDocument(): boolean {
    return this.#doc !== undefined;
  }

  /** A YAML parse error in words an operator reads, at the place to fix. */
  private describeYamlError(e: YAMLError): Diagnostic {
    const offset = e.pos[0];
    const lineStart = this.source.lastIndexOf('\n', offset - 1) + 1;
    const lineEnd = this.source.indexOf('\n', offset);
    const lineText = this.source.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
    const firstChar = lineStart + (lineText.length - lineText.trimStart().length);
    switch (e.code) {
      case 'TAB_AS_INDENT':
        return { code: 'YAML_TAB', message: 'tab character used for indentation: YAML indents with spaces only', ...this.at(offset) };
      case 'DUPLICATE_KEY': {
        const key = /^[^:\n]*/.exec(this.source.slice(offset))![0].trim().replace(/^(['"])(.*)\1$/, '$2');
        const first = this.firstKeyOffset(key, offset);
        const firstAt = first === undefined ? '' : ` (first at line ${this.at(first).line})`;
        return { code: 'YAML_DUPLICATE_KEY', message: `duplicate key '${key}'${firstAt}: each key may appear once in a map`, ...this.at(offset) };
      }
      case 'MISSING_CHAR':
        if (/quote/.test(e.message)) {
          // The parser notices at the end of the file; the fix is at the opening quote.
          const open = this.unclosedQuoteOffset(offset);
          const q = open === undefined ? '"' : this.source[open];
          return { code: 'YAML', message: `unclosed quote: the string opened here with ${q} has no closing ${q}`, ...this.at(open ?? offset) };
        }
        if (/Sequence item without - indicator/.test(e.message)) {
          return { code: 'YAML_INDENT', message: 'bad indentation: this line does not line up with the keys above it', ...this.at(Math.max(offset, firstChar)) };
        }
        break;
      case 'BAD_INDENT':
        return { code: 'YAML_INDENT', message: `bad indentation: ${lowerFirst(cleanYamlMessage(e.message))}`, ...this.at(offset) };
    }
    return { code: 'YAML', message: lowerFirst(cleanYamlMessage(e.message)), ...this.at(offset) };
  }

  /** Start of the quoted scalar that runs up to `end` (the parser reports an unclosed quote at its end). */
  private unclosedQuoteOffset(end: number): number | undefined {
    let found: number | undefined;
    yaml().visit(this.doc, {
      Scalar: (_k, n) => {
        if ((n.type === 'QUOTE_DOUBLE' || n.type === 'QUOTE_SINGLE') && n.range && n.range[0] < end && n.range[1] >= end - 1) found = n.range[0];
      },
    });
    return found;
  }

  /** Offset of the first key `key` in the map that holds the duplicate key at `dup`. */
  private firstKeyOffset(key: string, dup: number): number | undefined {
    let found: number | undefined;
    const { isPair, isScalar } = yaml();
    yaml().visit(this.doc, {
      Map: (_k, m) => {
        const keys = m.items.flatMap((i) => (isPair(i) && isScalar(i.key) && i.key.range ? [i.key] : []));
        if (!keys.some((k) => k.range![0] === dup)) return;
        found = keys.find((k) => String(k.value) === key)?.range?.[0];
      },
    });
    return found === dup ? undefined : found;
  }

  /** file/line/col/offset of a character offset. */
  at(offset: number): Pick<Diagnostic, 'file' | 'line' | 'col' | 'offset'> {
    const { line, col } = this.linePos(Math.max(0, Math.min(offset, this.source.length)));
    return { file: this.file, line, col, offset };
  }

  /** 1-based line and column of an offset (as the `yaml` package's LineCounter counts them). */
  private linePos(offset: number): { line: number; col: number } {
    if (!this.#lineStarts) {
      this.#lineStarts = [0];
      for (let i = this.source.indexOf('\n'); i >= 0; i = this.source.indexOf('\n', i + 1)) this.#lineStarts.push(i + 1);
    }
    const starts = this.#lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - starts[lo] + 1 };
  }

  /** The YAML node at a data path (undefined when the path does not exist). */
  node(path: Path): Node | undefined {
    const n = this.doc.getIn(path as (string | number)[], true);
    return yaml().isNode(n) ? n : undefined;
  }

  /**
   * Position of the value at `path`, or of its key with `key: true`. Falls back to the nearest
   * existing ancestor, so an error about a missing field points at the object that lacks it.
   */
  pos(path: Path, opts: { key?: boolean } = {}): Pick<Diagnostic, 'file' | 'line' | 'col' | 'offset'> {
    // On the fast path the events say where each node and key starts, without parsing the file again;
    // only a place they do not vouch for (null: a block scalar on the way) asks the yaml document.
    const fast = this.#fast;
    if (fast) {
      const known = fast.nearestStart(path, opts.key === true);
      if (known !== null) return this.at(known ?? 0);
    }
    return this.at(this.nearestStart(path, opts.key === true) ?? 0);
  }

  /** In the yaml document: the start of the value at `path` (its key's with `key`), else of its nearest existing ancestor. */
  private nearestStart(path: Path, key: boolean): number | undefined {
    for (let len = path.length; len >= 0; len--) {
      const sub = path.slice(0, len);
      if (key && len === path.length && len > 0) {
        const k = this.keyOffset(sub);
        if (k !== undefined) return k;
      }
      const v = this.node(sub)?.range?.[0];
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** Offset of the key of the map entry at `path` (its last element must be a key name). */
  keyOffset(path: Path): number | undefined {
    if (!path.length) return undefined;
    const parent = path.length === 1 ? this.doc.contents : this.node(path.slice(0, -1));
    const { isMap, isPair, isScalar } = yaml();
    if (!isMap(parent)) return undefined;
    const last = path[path.length - 1];
    for (const item of parent.items) {
      if (isPair(item) && isScalar(item.key) && item.key.value === last && item.key.range) return item.key.range[0];
    }
    return undefined;
  }

  /**
   * Offset in the file of a piece of text inside the scalar at `path` — used to point expression
   * errors at the column inside the YAML (quoted and block scalars move the text from the node start).
   */
  textOffset(path: Path, needle: string, indexInValue = 0): number | undefined {
    const n = this.node(path);
    if (!n?.range) return undefined;
    const [start, , end] = n.range;
    const slice = this.source.slice(start, end);
    const found = slice.indexOf(needle);
    if (found >= 0) return start + found;
    return yaml().isScalar(n) ? start + indexInValue : start;
  }

  /**
   * Offset in the file of character `index` of the string value at `path`: escapes (`\\"`, `\\n`),
   * quotes, block-scalar headers and indentation are stepped over, so an expression error points at
   * its column in the YAML line whatever the scalar style. Undefined when the path is not a string.
   */
  valueOffset(path: Path, index: number): number | undefined {
    const n = this.node(path);
    if (!yaml().isScalar(n) || !n.range || typeof n.value !== 'string') return n?.range?.[0];
    const [start, end] = n.range;
    const value = n.value;
    const doubleQuoted = n.type === 'QUOTE_DOUBLE';
    let j = start;
    for (let i = 0; i <= Math.min(index, value.length); i++) {
      if (i === value.length) return j;
      // Advance through the source to the character that produced value[i].
      for (;;) {
        if (j >= end) return undefined;
        if (doubleQuoted && this.source[j] === '\\') {
          const [decoded, len] = decodeEscape(this.source, j);
          if (decoded === value[i]) break;
          j += len;
          continue;
        }
        if (this.source[j] === value[i]) break;
        j++;
      }
      if (i === index) return j;
      j += doubleQuoted && this.source[j] === '\\' ? decodeEscape(this.source, j)[1] : 1;
    }
    return undefined;
  }

  /** The child keys present under a map path (in source order). */
  keysAt(path: Path): string[] {
    const n = path.length ? this.node(path) : this.doc.contents;
    const { isMap, isPair, isScalar } = yaml();
    if (isMap(n)) return n.items.flatMap((i) => (isPair(i) && isScalar(i.key) ? [String(i.key.value)] : []));
    return [];
  }

  isSeqAt(path: Path): boolean {
    return yaml().isSeq(this.node(path));
  }
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', a: '\x07', b: '\b', e: '\x1b', f: '\f', v: '\v', ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\x85', _: '\xa0', L: '\u2028', P: '\u2029' };

/** The character a double-quoted escape at `at` stands for, and the escape's length in the source. */
function decodeEscape(source: string, at: number): [string, number] {
  const c = source[at + 1];
  const hex = { x: 2, u: 4, U: 8 }[c as 'x' | 'u' | 'U'];
  if (hex) return [String.fromCodePoint(parseInt(source.slice(at + 2, at + 2 + hex), 16) || 0), 2 + hex];
  return [ESCAPES[c] ?? c ?? '', 2];
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

function cleanYamlMessage(msg: string): string {
  // yaml appends "at line X, column Y" and an excerpt; we render our own.
  return msg.replace(/ at line \d+, column \d+:?[\s\S]*$/, '').trim();
}

/** Read and parse a runbook file. I/O errors, and anything but a regular file of sane size, become a diagnostic. */
export function loadSource(file: string): SourceFile | Diagnostic {
  const text = readRunbookText(file);
  return typeof text === 'string' ? new SourceFile(file, text) : text;
}

/**
 * The text of a runbook file, or why it cannot be one. Opened non-blocking and checked on the open
 * descriptor: a FIFO or a device (`/dev/zero`) would otherwise block or be read forever.
 */
export function readRunbookText(file: string, limit = MAX_FILE_BYTES): string | Diagnostic {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a regular file';
      return { code: 'FILE', message: `cannot read it as a runbook: it is ${kind} (runbooks are regular files)`, file };
    }
    if (st.size > limit) return { code: 'FILE_TOO_LARGE', message: `file is ${mib(st.size)}: a runbook file may be at most ${mib(limit)}`, file };
    // Read at most limit + 1 bytes: a file that grows while read is still bounded.
    const buf = Buffer.alloc(Math.min(st.size, limit) + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
    if (n > limit) return { code: 'FILE_TOO_LARGE', message: `file is larger than ${mib(limit)}, the most a runbook file may be`, file };
    return buf.subarray(0, n).toString('utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { code: 'FILE', message: e.code === 'ENOENT' ? `file not found` : e.code === 'EISDIR' ? 'cannot read it as a runbook: it is a directory' : `cannot read file: ${e.message}`, file };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 2 : 1)} MiB`;
