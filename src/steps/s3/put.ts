/**
 * s3 `put`: a streamed (multipart) upload whose sha256 is stored in the object's metadata.
 * Memory stays at about (queueSize + 1) × partSize whatever the file size.
 */
import { AbortMultipartUploadCommand, DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { createHashCounter, hashFile, rateSince, sha256Hex } from './hash.js';
import { headObject, type S3Target } from './objects.js';
import { s3Url, transferSettings } from './settings.js';
import { StepFailure, type StepContext } from '../types.js';

export { transferSettings };

export interface PutSource {
  file?: string;
  content?: string;
}

/**
 * lib-storage does not pass an abort signal to its requests: an aborted upload would let the part
 * (or the single PutObject) in flight finish — and create the object. Give every request the
 * signal, except AbortMultipartUpload, which must still run after the abort to clean up.
 */
function withAbortSignal(client: S3Client, signal: AbortSignal): S3Client {
  const send = (command: unknown, options?: Record<string, unknown>) =>
    command instanceof AbortMultipartUploadCommand
      ? client.send(command)
      : client.send(command as never, { ...options, abortSignal: signal });
  return new Proxy(client, {
    get: (target, prop, receiver) => (prop === 'send' ? send : Reflect.get(target, prop, receiver)),
  });
}

export async function putAction(t: S3Target, key: string, source: PutSource, ctx: StepContext): Promise<Record<string, unknown>> {
  let body: Readable | Buffer;
  let size: number;
  let sha256: string;
  let fileStream: Readable | undefined;
  let counter: ReturnType<typeof createHashCounter> | undefined;
  const startedAt = Date.now();

  if (source.file !== undefined) {
    const path = resolve(ctx.baseDir, source.file);
    const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
      throw new StepFailure(`s3 put ${s3Url(t.bucket, key)}: cannot read ${path}: ${err.code ?? err.message}`);
    });
    if (!info.isFile()) throw new StepFailure(`s3 put ${s3Url(t.bucket, key)}: ${path} is not a regular file`);
    size = info.size;
    // Metadata goes with the first request, so the digest must be known before the upload starts.
    ctx.progress({ bytes: 0, total: size, message: 'computing sha256' });
    sha256 = await hashFile(path, ctx.signal);
    fileStream = createReadStream(path);
    // Hash again on the way out: a file changed between the two passes must not be stored under the old digest.
    counter = createHashCounter();
    body = fileStream.pipe(counter);
    fileStream.on('error', (err) => counter?.destroy(err));
  } else {
    body = Buffer.from(source.content ?? '', 'utf8');
    size = body.length;
    sha256 = sha256Hex(body);
  }

  const abortController = new AbortController();
  const onAbort = () => abortController.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const upload = new Upload({
    client: withAbortSignal(t.client, abortController.signal),
    params: { Bucket: t.bucket, Key: key, Body: body, ContentLength: size, Metadata: { sha256 } },
    partSize: transferSettings.partSize,
    queueSize: transferSettings.queueSize,
    abortController,
  });
  upload.on('httpUploadProgress', (p) => {
    const bytes = p.loaded ?? 0;
    ctx.progress({ bytes, total: size, rate: rateSince(bytes, startedAt) });
  });
  try {
    if (ctx.signal.aborted) onAbort();
    await upload.done();
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    fileStream?.destroy();
  }

  if (counter && (counter.bytes !== size || counter.digest() !== sha256)) {
    await t.client.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: key }));
    throw new StepFailure(`s3 put ${s3Url(t.bucket, key)}: ${source.file} changed during the upload; the object was deleted`);
  }
  ctx.progress({ bytes: size, total: size, rate: rateSince(size, startedAt) });
  const head = await headObject(t, key);
  return { ...head, sha256, bytes: size };
}
