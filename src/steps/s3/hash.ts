/**
 * Streaming sha256 + byte counting for s3 transfers: data passes through once, nothing is buffered.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The sha256 and the count of the bytes seen; `onBytes` hears the count at most every 100 ms. */
export class ByteTally {
  bytes = 0;
  private readonly hash = createHash('sha256');
  private last = 0;

  constructor(private readonly onBytes?: (bytes: number) => void) {}

  add(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    const now = Date.now();
    if (this.onBytes && now - this.last >= 100) {
      this.last = now;
      this.onBytes(this.bytes);
    }
  }

  /** sha256 (hex) of every byte seen; once only. */
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** A pass-through that hashes and counts what flows through it (a ByteTally). */
export function createHashCounter(onBytes?: (bytes: number) => void): Transform & { bytes: number; digest(): string } {
  const tally = new ByteTally(onBytes);
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      tally.add(chunk);
      done(null, chunk);
    },
  }) as Transform & { bytes: number; digest(): string };
  Object.defineProperty(counter, 'bytes', { get: () => tally.bytes });
  counter.digest = () => tally.digest();
  return counter;
}

/** sha256 (hex) of a file, read as a stream. */
export async function hashFile(path: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash, { signal });
  return hash.digest('hex');
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Bytes/second since `startedAt` (ms epoch). */
export function rateSince(bytes: number, startedAt: number): number {
  const seconds = (Date.now() - startedAt) / 1000;
  return seconds > 0 ? Math.round(bytes / seconds) : 0;
}
