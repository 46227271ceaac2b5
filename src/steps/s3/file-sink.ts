/**
 * Where an s3 `get` writes: a file, written in batches of `BATCH_BYTES`, that hashes (sha256) and
 * counts the bytes as it takes them.
 *
 * A response body arrives in chunks of up to 64 KiB. `fs.createWriteStream` writes each one on its
 * own: one trip through libuv's thread pool per chunk, ~130 for an 8.6 MB dump. Measured here (the
 * sandbox's s3rver; each way in its own process, 30 GETs, medians of three processes each), the
 * download's process spent 37–40 ms of CPU with it and 32–35 ms with one write per MiB; the GET took
 * 45–49 ms against 38–40 ms. On a machine whose cores are busy, as in a drill's detection, that CPU
 * is taken from the steps beside it.
 *
 * Memory stays bounded: two batch buffers per download (one is written while the other is filled),
 * and the stream's own small buffer: the body is paused when both are busy.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { ByteTally } from './hash.js';

/** Bytes gathered (copied into one buffer) before they are written with one `write`. */
export const BATCH_BYTES = 1 << 20;

export class FileSink extends Writable {
  private readonly tally: ByteTally;
  private file?: FileHandle;
  /** Two batches: one is filled while the other is written (the second made once the first is
   * full: a small object needs one). Chunks are copied in, so that each is garbage at once: kept in a
   * list until their batch was written, a 1 GiB get peaked at 186–189 MiB against 151–179. */
  private readonly batches: Buffer[] = [Buffer.allocUnsafe(BATCH_BYTES)];
  private current = 0;
  private filled = 0;
  /** The write in flight (it never rejects: a failure is kept in `writeError`). */
  private writing: Promise<void> = Promise.resolve();
  private writeError?: Error;

  /** `onBytes` hears the count at most every 100 ms. */
  constructor(
    private readonly path: string,
    onBytes?: (bytes: number) => void,
  ) {
    super();
    this.tally = new ByteTally(onBytes);
  }

  /** Bytes taken so far (all of them written once the stream has finished). */
  get bytes(): number {
    return this.tally.bytes;
  }

  /** sha256 (hex) of every byte taken; once only, after the stream has finished. */
  digest(): string {
    return this.tally.digest();
  }

  override _construct(done: (error?: Error | null) => void): void {
    // As createWriteStream: created or truncated, mode 0o666 less the umask.
    open(this.path, 'w').then(
      (file) => {
        this.file = file;
        done();
      },
      (error: Error) => done(error),
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.tally.add(chunk);
    let at = 0;
    const fill = (): void => {
      while (at < chunk.length) {
        const n = chunk.copy(this.batches[this.current], this.filled, at);
        at += n;
        this.filled += n;
        if (this.filled === BATCH_BYTES) {
          // The other batch must be on disk before it is filled again (the body waits meanwhile).
          return void this.writing.then(() => {
            if (this.writeError) return done(this.writeError);
            this.writeBatch();
            fill();
          });
        }
      }
      done();
    };
    fill();
  }

  override _final(done: (error?: Error | null) => void): void {
    this.writing.then(() => {
      if (this.writeError || this.filled === 0) return done(this.writeError);
      this.writeBatch();
      this.writing.then(() => done(this.writeError));
    });
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    const file = this.file;
    this.file = undefined;
    if (!file) return done(error);
    file.close().then(
      () => done(error),
      (closeError: Error) => done(error ?? closeError),
    );
  }

  /** Start writing the current batch, and fill the other one from now on. */
  private writeBatch(): void {
    const batch = this.batches[this.current];
    const length = this.filled;
    this.current ^= 1;
    this.batches[this.current] ??= Buffer.allocUnsafe(BATCH_BYTES);
    this.filled = 0;
    this.writing = this.writeAll(batch, length).catch((error: Error) => {
      this.writeError = error;
    });
  }

  /** Write `length` bytes of `batch`, all of them (a short write is continued). */
  private async writeAll(batch: Buffer, length: number): Promise<void> {
    for (let at = 0; at < length; ) {
      const { bytesWritten } = await this.file!.write(batch, at, length - at);
      // A regular file takes at least one byte or fails (ENOSPC, EIO); never loop on a write of nothing.
      if (bytesWritten === 0) throw new Error(`${this.path}: a write of ${length - at} bytes wrote nothing`);
      at += bytesWritten;
    }
  }
}
