/**
 * Text a step produced (its stderr, an error message) on its way to a terminal or a markdown
 * report: raw ESC and other control bytes would be executed by the terminal (cursor moves, colour,
 * title changes, a `\r` that overwrites the line) or break the report. C0 controls except `\n` and
 * `\t`, DEL, C1 controls and the bidirectional overrides ("Trojan source") are shown escaped, as
 * `\x1b` / `\u202e`, so the reader still sees that they were there.
 */

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every control character except newline and tab escaped. */
export function terminalText(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** One line: like `terminalText`, and newlines and tabs escaped too (a failure line, a table cell). */
export function terminalLine(text: string): string {
  return terminalText(text).replace(/\n/g, '\\n').replace(/\t/g, '\\t');
}

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * An event with the free text a step or a process can put into it (`error`, `message`) escaped,
 * for views that print it (the plain printer, the TUI). Output text keeps its own treatment there
 * (colour sequences are stripped line by line, not shown escaped).
 */
export function terminalEvent<E extends object>(event: E): E {
  const e = event as { error?: unknown; message?: unknown };
  const error = typeof e.error === 'string' ? terminalText(e.error) : e.error;
  const message = typeof e.message === 'string' ? terminalText(e.message) : e.message;
  if (error === e.error && message === e.message) return event;
  return { ...event, ...(error !== undefined ? { error } : {}), ...(message !== undefined ? { message } : {}) };
}
