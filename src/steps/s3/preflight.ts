/**
 * `plan --preflight` for an s3 step: the bucket exists and the prefix the step works under is
 * listable; for get/head/copy, whether the object is there yet (not a failure: an earlier step of the
 * run may create it). Read-only: ListObjects and HeadObject only.
 */
import { HeadObjectCommand, ListObjectsCommand } from '@aws-sdk/client-s3';
import { describeS3Error, type S3Connection } from './connection.js';
import type { S3Body } from './schema.js';
import { s3Url } from './settings.js';
import type { PreflightCheck, StepContext } from '../types.js';

export async function preflightS3(body: S3Body, ctx: StepContext): Promise<PreflightCheck[]> {
  const conn = await ctx.connection<S3Connection>(body.connection, 's3');
  const bucket = body.bucket || conn.config.bucket;
  if (!bucket) return [{ target: `s3 ${body.action}`, ok: false, detail: `no bucket on the step or connection ${body.connection}` }];
  const key = body.action === 'copy' ? body.from : body.key;
  const prefix = body.prefix ?? (key && key.includes('/') ? key.slice(0, key.lastIndexOf('/') + 1) : '');
  const abortSignal = AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]);
  const checks: PreflightCheck[] = [];
  try {
    const r = await conn.client.send(new ListObjectsCommand({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 }), { abortSignal });
    checks.push({ target: s3Url(bucket, prefix), ok: true, detail: `listable${r.Contents?.length ? '' : ' (empty)'}` });
  } catch (err) {
    return [{ target: s3Url(bucket, prefix), ok: false, detail: describeS3Error(err) }];
  }
  if (key && ['get', 'head', 'copy'].includes(body.action)) {
    try {
      const h = await conn.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal });
      checks.push({ target: s3Url(bucket, key), ok: true, detail: `exists (${h.ContentLength ?? 0} bytes)` });
    } catch (err) {
      const missing = (err as { name?: string }).name === 'NotFound' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;
      checks.push({ target: s3Url(bucket, key), ok: missing, detail: missing ? 'not there yet (an earlier step may create it)' : describeS3Error(err) });
    }
  }
  return checks;
}
