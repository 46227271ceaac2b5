import { readFileSync } from 'node:fs';
import { isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { Diagnostic } from './errors.js';

export type Path = ReadonlyArray<string | number>;

/**
 * A runbook file as read: its text, the YAML document with source ranges, and the plain data.
 * Every later stage asks `pos(path)` to point its errors at a line and column.
 */
export class SourceFile {
  readonly lineCounter = new LineCounter();
  readonly doc: Document.Parsed;
  readonly data: unknown;
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    readonly file: string,
    readonly source: string,
  ) {
    this.doc = parseDocument(source, { lineCounter: this.lineCounter, prettyErrors: false, uniqueKeys: true });
    for (const e of [...this.doc.errors, ...this.doc.warnings]) {
      const offset = e.pos[0];
      this.diagnostics.push({
        code: e.code === 'TAB_AS_INDENT' ? 'YAML_TAB' : e.code === 'DUPLICATE_KEY' ? 'YAML_DUPLICATE_KEY' : 'YAML',
        message: cleanYamlMessage(e.message),
        ...this.at(offset),
        severity: this.doc.errors.includes(e as never) ? 'error' : 'warning',
      });
    }
    this.data = this.doc.errors.length ? undefined : this.doc.toJS({ maxAliasCount: 1000 });
  }

  /** file/line/col/offset of a character offset. */
  at(offset: number): Pick<Diagnostic, 'file' | 'line' | 'col' | 'offset'> {
    const { line, col } = this.lineCounter.linePos(Math.max(0, Math.min(offset, this.source.length)));
    return { file: this.file, line, col, offset };
  }

  /** The YAML node at a data path (undefined when the path does not exist). */
  node(path: Path): Node | undefined {
    const n = this.doc.getIn(path as (string | number)[], true);
    return isNode(n) ? n : undefined;
  }

  /**
   * Position of the value at `path`, or of its key with `key: true`. Falls back to the nearest
   * existing ancestor, so an error about a missing field points at the object that lacks it.
   */
  pos(path: Path, opts: { key?: boolean } = {}): Pick<Diagnostic, 'file' | 'line' | 'col' | 'offset'> {
    for (let len = path.length; len >= 0; len--) {
      const sub = path.slice(0, len);
      if (opts.key && len === path.length && len > 0) {
        const keyOffset = this.keyOffset(sub);
        if (keyOffset !== undefined) return this.at(keyOffset);
      }
      const n = this.node(sub);
      if (n?.range) return this.at(n.range[0]);
      if (len === 0) break;
    }
    return this.at(0);
  }

  /** Offset of the key of the map entry at `path` (its last element must be a key name). */
  keyOffset(path: Path): number | undefined {
    if (!path.length) return undefined;
    const parent = path.length === 1 ? this.doc.contents : this.node(path.slice(0, -1));
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
    return isScalar(n) ? start + indexInValue : start;
  }

  /** The child keys present under a map path (in source order). */
  keysAt(path: Path): string[] {
    const n = path.length ? this.node(path) : this.doc.contents;
    if (isMap(n)) return n.items.flatMap((i) => (isPair(i) && isScalar(i.key) ? [String(i.key.value)] : []));
    return [];
  }

  isSeqAt(path: Path): boolean {
    return isSeq(this.node(path));
  }
}

function cleanYamlMessage(msg: string): string {
  // yaml appends "at line X, column Y" and an excerpt; we render our own.
  return msg.replace(/ at line \d+, column \d+:?[\s\S]*$/, '').trim();
}

/** Read and parse a runbook file. I/O errors become a diagnostic. */
export function loadSource(file: string): SourceFile | Diagnostic {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { code: 'FILE', message: e.code === 'ENOENT' ? `file not found` : `cannot read file: ${e.message}`, file };
  }
  return new SourceFile(file, text);
}
