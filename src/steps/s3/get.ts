/**
 * s3 `get`: stream an object to disk through a temp file, verify size and sha256, then rename.
 * A failed or tampered download leaves no file behind.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileSink } from './file-sink.js';
import { rateSince } from './hash.js';
import type { S3Target } from './objects.js';
import { s3Url, unquote } from './settings.js';
import { StepFailure, type StepContext } from '../types.js';

/** Set by the s3 thread (./worker.ts): hears of each file a step writes before its final name. */
export interface PartialFiles {
  partialFile?(path: string): void;
}

export async function getAction(t: S3Target, key: string, file: string, ctx: StepContext): Promise<Record<string, unknown>> {
  const dest = resolve(ctx.baseDir, file);
  const startedAt = Date.now();
  const res = await t.client.send(new GetObjectCommand({ Bucket: t.bucket, Key: key }), { abortSignal: t.signal });
  const total = res.ContentLength;
  const expected = res.Metadata?.sha256;
  const result: Record<string, unknown> = {
    bucket: t.bucket,
    key,
    file: dest,
    size: total ?? 0,
    etag: unquote(res.ETag),
    last_modified: res.LastModified?.toISOString() ?? null,
    sha256: expected ?? null,
  };

  await mkdir(dirname(dest), { recursive: true });
  // Same folder as the destination, so the final rename is atomic.
  const temp = join(dirname(dest), `.${basename(dest)}.${randomBytes(4).toString('hex')}.part`);
  // In the s3 thread: a thread that dies cannot remove it, so the interpreter's side is told (./thread.ts).
  (ctx as PartialFiles).partialFile?.(temp);
  // Hashed and counted as it is written, in batches (./file-sink.ts).
  const counter = new FileSink(temp, (bytes) => ctx.progress({ bytes, total, rate: rateSince(bytes, startedAt) }));
  try {
    await pipeline(res.Body as Readable, counter, { signal: t.signal });
    const actual = counter.digest();
    result.bytes = counter.bytes;
    if (total !== undefined && counter.bytes !== total) {
      throw new StepFailure(`s3 get ${s3Url(t.bucket, key)}: received ${counter.bytes} of ${total} bytes`, result);
    }
    if (expected !== undefined && actual !== expected) {
      throw new StepFailure(
        `s3 get ${s3Url(t.bucket, key)}: sha256 mismatch: object metadata says ${expected}, the data is ${actual}; ${dest} not written`,
        { ...result, sha256_actual: actual },
        'CHECKSUM_MISMATCH',
      );
    }
    result.sha256 = actual;
    result.verified = expected !== undefined;
    await rename(temp, dest);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  ctx.progress({ bytes: counter.bytes, total, rate: rateSince(counter.bytes, startedAt) });
  return result;
}
