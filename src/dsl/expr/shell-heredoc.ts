/**
 * Heredocs for the shell scanner: the delimiter after `<<` / `<<-` (quoted if any part of it is),
 * and the body lines up to the delimiter line. Bash reads a body raw first and expands it after, so
 * the body is collected here and scanned by the caller.
 */
import type { Tok } from './shell-contexts.js';

export interface Heredoc {
  delimiter: string;
  quoted: boolean;
  stripTabs: boolean;
}

const METACHAR = new Set([' ', '\t', '\n', ';', '&', '|', '<', '>', '(', ')']);

/** From just after `<<`: the heredoc, and where its delimiter word ends. A placeholder in the delimiter is reported. */
export function readHeredocDelimiter(src: Tok[], from: number, placeholder: (p: number) => void): { heredoc: Heredoc; next: number } {
  let i = from;
  let stripTabs = false;
  if (src[i] === '-') {
    stripTabs = true;
    i++;
  }
  while (src[i] === ' ' || src[i] === '\t') i++;
  let delimiter = '';
  let quoted = false;
  let quote: string | undefined;
  while (i < src.length) {
    const t = src[i];
    if (typeof t === 'number') {
      placeholder(t);
      i++;
      continue;
    }
    if (quote) {
      if (t === quote) quote = undefined;
      else delimiter += t;
    } else if (t === "'" || t === '"') {
      quote = t;
      quoted = true;
    } else if (t === '\\') {
      quoted = true;
      const next = src[i + 1];
      if (typeof next === 'string') delimiter += next;
      i++;
    } else if (METACHAR.has(t)) break;
    else delimiter += t;
    i++;
  }
  return { heredoc: { delimiter, quoted, stripTabs }, next: i };
}

/** From the start of the line after the operator: the body's tokens and where the next line after the delimiter starts. */
export function collectHeredocBody(src: Tok[], from: number, h: Heredoc): { body: Tok[]; next: number } {
  const body: Tok[] = [];
  let i = from;
  while (i < src.length) {
    let end = i;
    while (end < src.length && src[end] !== '\n') end++;
    const line = src.slice(i, end);
    const text = line.every((t) => typeof t === 'string') ? (line as string[]).join('') : undefined;
    const bare = text !== undefined && h.stripTabs ? text.replace(/^\t+/, '') : text;
    i = Math.min(end + 1, src.length);
    if (bare === h.delimiter) break;
    body.push(...line, '\n');
  }
  return { body, next: i };
}
