/**
 * Streaming sha256 + byte counting for s3 transfers: data passes through once, nothing is buffered.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A pass-through that hashes and counts what flows through it; `onBytes` is called at most every 100 ms. */
export function createHashCounter(onBytes?: (bytes: number) => void): Transform & { bytes: number; digest(): string } {
  const hash = createHash('sha256');
  let last = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      counter.bytes += chunk.length;
      const now = Date.now();
      if (onBytes && now - last >= 100) {
        last = now;
        onBytes(counter.bytes);
      }
      done(null, chunk);
    },
  }) as Transform & { bytes: number; digest(): string };
  counter.bytes = 0;
  counter.digest = () => hash.digest('hex');
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
