/**
 * The heavy half of the `s3` step: dispatch to the action modules, which use the AWS SDK.
 * Imported by `./s3.ts` on the first execute, never by `validate` or `plan`.
 */
import { getAction } from './get.js';
import { copyAction, deleteAction, headObject, latestAction, listAction, type S3Target } from './objects.js';
// put.ts brings @aws-sdk/lib-storage (~140 ms to load): only a put pays for it, not a get or a latest.
let put: Promise<typeof import('./put.js')> | undefined;
const loadPut = () => (put ??= import('./put.js'));
import type { S3Body } from './schema.js';
import { s3Url } from './settings.js';
import { StepFailure, type StepContext } from '../types.js';

export async function runS3Action(t: S3Target, body: S3Body, ctx: StepContext): Promise<Record<string, unknown>> {
  const key = body.key ?? '';
  switch (body.action) {
    case 'put':
      if (body.file !== undefined && body.content !== undefined) {
        throw new StepFailure(`s3 put ${s3Url(t.bucket, key)}: give \`file\` or \`content\`, not both`);
      }
      return (await loadPut()).putAction(t, key, { file: body.file, content: body.content }, ctx);
    case 'get':
      return getAction(t, key, body.file ?? '', ctx);
    case 'list':
      return listAction(t, body.prefix ?? '');
    case 'latest':
      return latestAction(t, body.prefix ?? '');
    case 'head':
      return headObject(t, key);
    case 'delete':
      return deleteAction(t, key);
    case 'copy':
      return copyAction(t, body.from ?? '', body.to ?? '');
  }
}
