/**
 * JSON Schema of the `s3` step body: one flat object, `action` picks which fields are required.
 * Each action is an `if {action: const} then {required: [...]}` so the validator reports the missing
 * field by name ("missing required key 'key'") instead of one error per `oneOf` branch.
 */
import type { JsonSchema } from '../../dsl/json-schema.js';

export type S3Action = 'put' | 'get' | 'list' | 'latest' | 'head' | 'delete' | 'copy';

export interface S3Body {
  connection: string;
  action: S3Action;
  bucket?: string;
  key?: string;
  file?: string;
  content?: string;
  prefix?: string;
  from?: string;
  to?: string;
}

const text = (description: string) => ({ type: 'string', description });

const requires = (action: S3Action, then: JsonSchema): JsonSchema => ({
  if: { properties: { action: { const: action } }, required: ['action'] },
  then,
});

export const s3BodySchema: JsonSchema = {
  type: 'object',
  description: 'An S3 object operation: upload, download, list, find the newest, inspect, delete or copy.',
  additionalProperties: false,
  required: ['connection', 'action'],
  properties: {
    connection: text('Name of an `s3` connection under `connections`.'),
    action: {
      enum: ['put', 'get', 'list', 'latest', 'head', 'delete', 'copy'],
      description:
        'put: upload `file` or `content` to `key`; get: download `key` to `file`; list: objects under `prefix`, newest first; ' +
        'latest: the newest object under `prefix`; head: metadata of `key`; delete: remove `key`; copy: `from` → `to`.',
    },
    bucket: text("Bucket to use instead of the connection's `bucket`."),
    key: text('Object key (put, get, head, delete).'),
    file: text('Local file (put: read, get: written). Relative paths are relative to the runbook file.'),
    content: text('put: text to upload instead of a file (give `file` or `content`, not both).'),
    prefix: text('list/latest: key prefix, e.g. `postgresql/full/` (default: the whole bucket).'),
    from: text('copy: source key.'),
    to: text('copy: destination key.'),
  },
  allOf: [
    requires('put', { required: ['key'] }),
    // put without `content` needs `file`. "Not both" is checked when the step runs: `not`/`oneOf`
    // would turn into vague messages ("does not match any allowed form") or none at all.
    {
      if: { properties: { action: { const: 'put' } }, required: ['action'], not: { required: ['content'] } },
      then: { required: ['file'] },
    },
    requires('get', { required: ['key', 'file'] }),
    requires('head', { required: ['key'] }),
    requires('delete', { required: ['key'] }),
    requires('copy', { required: ['from', 'to'] }),
  ],
};
