/**
 * The s3 actions that move no data: head, list, latest, delete, copy.
 */
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { listSettings, s3Url, unquote } from './settings.js';
import { StepFailure } from '../types.js';

export interface S3Target {
  client: S3Client;
  bucket: string;
  signal: AbortSignal;
}

export interface S3ObjectSummary {
  key: string;
  size: number;
  etag: string;
  last_modified: string;
}

export { listSettings, s3Url, unquote };

/** Object metadata: key, size, etag, last_modified and the sha256 stored by `put` (null when absent). */
export async function headObject(t: S3Target, key: string): Promise<Record<string, unknown>> {
  const head = await t.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: key }), { abortSignal: t.signal });
  return {
    bucket: t.bucket,
    key,
    size: head.ContentLength ?? 0,
    etag: unquote(head.ETag),
    last_modified: head.LastModified?.toISOString() ?? null,
    sha256: head.Metadata?.sha256 ?? null,
    content_type: head.ContentType ?? null,
  };
}

/**
 * Every object under `prefix` (all pages), newest first; equal times by key, last key first.
 * ListObjects (v1) with `Marker` = the last key seen: AWS, MinIO and Ceph page it the same as v2, and
 * s3rver (tests, sandbox) answers every truncated v2 listing with a 500 — its continuation token uses
 * DES, which Node's OpenSSL 3 no longer has.
 */
export async function listObjects(t: S3Target, prefix: string): Promise<S3ObjectSummary[]> {
  const objects: S3ObjectSummary[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await t.client.send(
      new ListObjectsCommand({ Bucket: t.bucket, Prefix: prefix || undefined, Marker: marker, MaxKeys: listSettings.pageSize }),
      { abortSignal: t.signal },
    );
    const contents = page.Contents ?? [];
    for (const o of contents) {
      objects.push({
        key: o.Key ?? '',
        size: o.Size ?? 0,
        etag: unquote(o.ETag),
        last_modified: o.LastModified?.toISOString() ?? '',
      });
    }
    if (!page.IsTruncated || contents.length === 0) break;
    marker = page.NextMarker ?? contents[contents.length - 1].Key;
  }
  // ISO strings of the same format compare like the times they denote.
  return objects.sort((a, b) =>
    a.last_modified === b.last_modified ? (a.key < b.key ? 1 : -1) : a.last_modified < b.last_modified ? 1 : -1,
  );
}

export async function listAction(t: S3Target, prefix: string): Promise<Record<string, unknown>> {
  const objects = await listObjects(t, prefix);
  return { bucket: t.bucket, prefix, objects, count: objects.length };
}

/** The newest object under `prefix`, with its sha256 from a HEAD. Fails when there is none. */
export async function latestAction(t: S3Target, prefix: string): Promise<Record<string, unknown>> {
  const objects = await listObjects(t, prefix);
  const newest = objects[0];
  if (!newest) {
    throw new StepFailure(`s3 latest ${s3Url(t.bucket, prefix)}: no object under this prefix`, {
      bucket: t.bucket,
      prefix,
      objects: [],
      count: 0,
    });
  }
  const head = await headObject(t, newest.key);
  return { ...head, prefix, objects: [newest], count: objects.length };
}

export async function deleteAction(t: S3Target, key: string): Promise<Record<string, unknown>> {
  await t.client.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: key }), { abortSignal: t.signal });
  return { bucket: t.bucket, key, deleted: true };
}

/** Server-side copy within the bucket; metadata (and so `sha256`) is copied with the object. */
export async function copyAction(t: S3Target, from: string, to: string): Promise<Record<string, unknown>> {
  const source = `${t.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
  await t.client.send(new CopyObjectCommand({ Bucket: t.bucket, Key: to, CopySource: source }), {
    abortSignal: t.signal,
  });
  return { ...(await headObject(t, to)), from, to };
}
