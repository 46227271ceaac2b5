/**
 * Bounded journaling of what a step prints (spec §12 "Bounded everything"): each stream of a step
 * instance is journaled up to its `output_limit` bytes (UTF-8, after masking, cut on a character
 * boundary); the rest is only counted and reported once, as `step.output_truncated`, when the
 * instance's attempts are over. The budget covers all attempts and `until` polls of the instance,
 * so a retried or polled step cannot journal more than the limit either.
 *
 * It sits after the masker (`masked-output.ts`): cutting before it could journal the first half of
 * a secret that the masker was holding back.
 */
import type { OutputStream } from './masked-output.js';

export class OutputLimit {
  private readonly used: Record<OutputStream, number> = { stdout: 0, stderr: 0, info: 0 };
  /** Bytes not journaled, per stream. */
  readonly dropped: Record<OutputStream, number> = { stdout: 0, stderr: 0, info: 0 };

  constructor(readonly limit: number) {}

  /** The part of `text` that may still be journaled ('' once the stream's budget is spent). */
  take(stream: OutputStream, text: string): string {
    const left = this.limit - this.used[stream];
    if (left <= 0) {
      this.dropped[stream] += Buffer.byteLength(text);
      return '';
    }
    const size = Buffer.byteLength(text);
    if (size <= left) {
      this.used[stream] += size;
      return text;
    }
    const bytes = Buffer.from(text, 'utf8');
    let cut = left;
    // Do not split a character: back off over UTF-8 continuation bytes (10xxxxxx).
    while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--;
    this.used[stream] = this.limit;
    this.dropped[stream] += bytes.length - cut;
    return bytes.toString('utf8', 0, cut);
  }

  /** Streams that lost bytes, with how many. */
  truncated(): { stream: OutputStream; bytes: number }[] {
    return (Object.keys(this.dropped) as OutputStream[]).filter((s) => this.dropped[s] > 0).map((stream) => ({ stream, bytes: this.dropped[stream] }));
  }
}
