/**
 * The `s3` step type (spec §2): put/get (streamed, sha256-checked), list, latest, head, delete, copy.
 * Only the description lives here; the actions (and the AWS SDK) are imported on the first execute,
 * so `validate` and `plan` never pay for them.
 */
import { s3BodySchema, type S3Body } from './schema.js';
import { describeS3Error, type S3Connection } from './connection.js';
import { s3Url } from './settings.js';
import { runInS3Thread, s3ThreadDisabled } from './thread.js';
import { StepFailure, type StepContext, type StepType } from '../types.js';

export { s3Connection } from './connection.js';
export { listSettings, transferSettings } from './settings.js';
export type { S3Body } from './schema.js';

let actions: Promise<typeof import('./actions.js')> | undefined;
const loadActions = () => (actions ??= import('./actions.js'));

let preflight: Promise<typeof import('./preflight.js')> | undefined;
const loadPreflight = () => (preflight ??= import('./preflight.js'));

function renderS3(body: S3Body): string {
  const where = `${body.connection}${body.bucket ? `/${body.bucket}` : ''}`;
  switch (body.action) {
    case 'put':
      return `s3 put ${where}:${body.key} ← ${body.file ?? `(${Buffer.byteLength(body.content ?? '')} bytes of content)`}`;
    case 'get':
      return `s3 get ${where}:${body.key} → ${body.file}`;
    case 'list':
    case 'latest':
      return `s3 ${body.action} ${where}:${body.prefix ?? ''}`;
    case 'copy':
      return `s3 copy ${where}:${body.from} → ${body.to}`;
    default:
      return `s3 ${body.action} ${where}:${body.key}`;
  }
}

async function executeS3(body: S3Body, ctx: StepContext): Promise<Record<string, unknown>> {
  const conn = await ctx.connection<S3Connection>(body.connection, 's3');
  const bucket = body.bucket || conn.config.bucket;
  if (!bucket) {
    throw new StepFailure(`s3 ${body.action}: no bucket: set \`bucket\` on the step or on connection ${body.connection}`);
  }
  try {
    if (s3ThreadDisabled()) {
      const { runS3Action } = await loadActions();
      return await runS3Action({ client: conn.client, bucket, signal: ctx.signal }, body, ctx);
    }
    return await runInS3Thread({ conn: conn.id, clientConfig: conn.clientConfig, body, bucket, baseDir: ctx.baseDir }, ctx.signal, (p) =>
      ctx.progress(p as Parameters<StepContext['progress']>[0]),
    );
  } catch (err) {
    // Cancellation is the interpreter's to report (timed_out / cancelled): hand its reason back unchanged.
    if (ctx.signal.aborted) throw ctx.signal.reason ?? err;
    if (err instanceof StepFailure) throw err;
    const object = body.action === 'copy' ? `${s3Url(bucket, body.from)} → ${body.to}` : s3Url(bucket, body.key ?? body.prefix);
    throw new StepFailure(`s3 ${body.action} ${object}: ${describeS3Error(err)}`);
  }
}

export const s3Step: StepType<S3Body> = {
  name: 's3',
  description: 'Object storage through the AWS SDK: put, get, list, latest, head, delete, copy.',
  schema: s3BodySchema,
  sideEffects: true,
  // Spec §12: get (it writes a local file, not the bucket), list, latest and head only read the bucket.
  readOnly: (body) => ['get', 'list', 'latest', 'head'].includes(body.action),
  connectionKind: 's3',
  render: renderS3,
  preflight: async (body, ctx) => (await loadPreflight()).preflightS3(body, ctx),
  execute: executeS3,
};
