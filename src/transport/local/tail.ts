/**
 * The last N bytes of a stream, without ever holding more than N plus one chunk: a step printing
 * 100 MB keeps 1 MiB, not 100 MB.
 */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Whether bytes were dropped from the front. */
  truncated = false;

  constructor(readonly limit: number) {}

  push(chunk: Buffer): void {
    if (chunk.length >= this.limit) {
      this.truncated ||= chunk.length > this.limit || this.size > 0;
      this.chunks = [chunk.subarray(chunk.length - this.limit)];
      this.size = this.limit;
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit) {
      const first = this.chunks[0];
      const excess = this.size - this.limit;
      this.truncated = true;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }

  /** The kept bytes as UTF-8; a character cut in half at the front is dropped, not turned into U+FFFD. */
  text(): string {
    const bytes = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    if (bytes === undefined) return '';
    let start = 0;
    // UTF-8 continuation bytes are 10xxxxxx; at most 3 can precede the next character start.
    if (this.truncated) while (start < 3 && start < bytes.length && (bytes[start] & 0xc0) === 0x80) start++;
    return bytes.toString('utf8', start);
  }
}
