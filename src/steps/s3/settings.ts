/**
 * Light pieces of the s3 step shared by its description (`validate`, `plan`) and its implementation:
 * transfer tuning and object naming. Nothing here loads the AWS SDK.
 */

const MiB = 1024 * 1024;

/** Transfer tuning. Tests lower `partSize` (S3's minimum is 5 MiB) to reach the multipart path with small files. */
export const transferSettings = { partSize: 8 * MiB, queueSize: 2 };

/** Page size of ListObjects (undefined = the server's, 1000 on AWS). Tests lower it to reach pagination. */
export const listSettings: { pageSize?: number } = {};

export const s3Url = (bucket: string, key = ''): string => `s3://${bucket}/${key}`;

// S3 returns ETags quoted (`"d41d8…"`); the quotes only get in the way of expressions.
export const unquote = (etag: string | undefined): string => (etag ?? '').replace(/^"(.*)"$/, '$1');
