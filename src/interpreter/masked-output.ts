/**
 * Live output is masked per event, so a secret a step prints in two chunks ("envSec" … "ret-9f")
 * would reach the journal and the views unmasked in two halves (a viewer joins them). This sink
 * holds back the shortest tail of each stream that could still be the start of a secret, and emits
 * it with the next chunk (or when the step's work ends), so every secret is whole in one event.
 */
export type OutputStream = 'stdout' | 'stderr' | 'info';

/** The forms of each secret the masker replaces (one list: dsl/expr/secret-forms.ts). */
export { secretForms } from '../dsl/expr/secret-forms.js';

export class MaskedOutput {
  private pending: Record<OutputStream, string> = { stdout: '', stderr: '', info: '' };

  constructor(
    private readonly forms: readonly string[],
    private readonly emit: (stream: OutputStream, text: string) => void,
  ) {}

  write(stream: OutputStream, text: string): void {
    if (!this.forms.length) return this.emit(stream, text);
    const all = this.pending[stream] + text;
    const hold = heldTail(all, this.forms);
    this.pending[stream] = all.slice(all.length - hold);
    if (all.length > hold) this.emit(stream, all.slice(0, all.length - hold));
  }

  /** Emit what is held back (the step's work has ended). */
  flush(): void {
    for (const stream of ['stdout', 'stderr', 'info'] as const) {
      const text = this.pending[stream];
      this.pending[stream] = '';
      if (text) this.emit(stream, text);
    }
  }
}

/** Length of the longest tail of `text` that is a proper prefix of some secret form. */
function heldTail(text: string, forms: readonly string[]): number {
  let hold = 0;
  for (const f of forms) {
    for (let k = Math.min(f.length - 1, text.length); k > hold; k--) {
      if (text.endsWith(f.slice(0, k))) {
        hold = k;
        break;
      }
    }
  }
  return hold;
}
