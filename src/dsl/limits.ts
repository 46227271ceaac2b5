/**
 * Limits on what a runbook file may be (spec §12 "bounded everything"): they turn hostile input into
 * one clear diagnostic instead of a hang (a FIFO, /dev/zero), memory without bound, or a blown stack.
 */
/** A runbook file is a regular file of at most this many bytes. */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
/** Maps and lists nest at most this deep (a real runbook uses about 10 levels). */
export const MAX_NESTING = 100;
/** Sub-runbooks nest at most this deep (spec §12). */
export const MAX_RUNBOOK_DEPTH = 16;
/** Names that would reach an object's prototype when used as a key of params, outputs, …. */
export const RESERVED_NAMES = ['__proto__', 'constructor', 'prototype'];

/**
 * An upper bound of how deep the YAML in `source` nests, found without parsing it (the parsers
 * recurse, so a file nested 3,000 levels would exhaust the stack first): indentation levels of
 * block collections, `- ` items opened on one line, and flow brackets outside quotes. Returns the
 * offset where the depth first passes `limit`, or undefined when it never does.
 */
export function tooDeepAt(source: string, limit = MAX_NESTING): number | undefined {
  const indents: number[] = [];
  let flow = 0;
  let pos = 0;
  let blockScalarIndent = -1;
  // Written for a cold start (it runs before every parse, once): native string and regex calls do
  // the scanning, not a loop over characters, which is slower until the JIT has warmed up.
  for (const line of source.split('\n')) {
    const start = pos;
    pos += line.length + 1;
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    const indent = text.length - text.trimStart().length;
    if (indent === text.length || text[indent] === '#') continue;
    // The content of a block scalar (`|`, `>`) is text, not structure.
    if (blockScalarIndent >= 0) {
      if (indent > blockScalarIndent) continue;
      blockScalarIndent = -1;
    }
    if (flow === 0) {
      while (indents.length && indents[indents.length - 1] >= indent) indents.pop();
      indents.push(indent);
      // `- - - x` opens one list per dash on the same line.
      const dashes = text[indent] === '-' ? (DASHES.exec(text.slice(indent))?.[0].match(/-/g)?.length ?? 0) : 0;
      if (indents.length + dashes > limit) return start + indent;
      if (text.includes('|') || text.includes('>')) {
        const body = text.slice(indent);
        if (/[|>][-+0-9]*\s*(#.*)?$/.test(body) && /(^|:\s|-\s)[|>]/.test(body)) blockScalarIndent = indent;
      }
    }
    // Only quotes, comments and brackets matter: jump from one to the next.
    const special = /["'#[\]{}]/g;
    special.lastIndex = indent;
    // test() moves lastIndex past the match without building a match array (exec would, per match).
    while (special.test(text)) {
      const i = special.lastIndex - 1;
      const c = text[i];
      if (c === '#') {
        if (i === 0 || /\s/.test(text[i - 1])) break;
      } else if (c === '"' || c === "'") {
        if (i !== indent && !/[\s[{,:]/.test(text[i - 1])) continue;
        // The quote closes at the next one of its kind (for `"`, not after a backslash); unclosed,
        // the rest of the line is quoted.
        let close = text.indexOf(c, i + 1);
        while (c === '"' && close > 0 && text[close - 1] === '\\') close = text.indexOf(c, close + 1);
        if (close < 0) break;
        special.lastIndex = close + 1;
      } else if (c === '[' || c === '{') {
        flow++;
        if (indents.length + flow > limit) return start + i;
      } else if (flow > 0) flow--;
    }
  }
  return undefined;
}

const DASHES = /^(-\s+)+/;
