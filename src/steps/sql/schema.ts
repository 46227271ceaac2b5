/**
 * JSON Schema of the `sql` step body, and its type. No `pg` here: `validate` and `plan` load this.
 */
import type { JsonSchema } from '../../dsl/json-schema.js';

export interface SqlBody {
  connection: string;
  query?: string;
  params?: unknown[];
  script?: string;
  transaction?: boolean;
}

export const sqlBodySchema: JsonSchema = {
  type: 'object',
  description: 'Run SQL on a PostgreSQL connection: one `query` with bind `params`, or a `script` of several statements.',
  additionalProperties: false,
  required: ['connection'],
  properties: {
    connection: { type: 'string', minLength: 1, description: 'Name of a `connections` entry of kind postgres.' },
    query: {
      type: 'string',
      minLength: 1,
      description: 'One SQL statement. Values go through `params` as $1, $2 …; `${{ }}` is not allowed here.',
    },
    params: {
      type: 'array',
      description: 'Bind values for $1, $2 … of `query` (may use `${{ }}`); always sent as data, never as SQL.',
      items: { description: 'A value: string, number, boolean, null, or a list/object (sent as JSON).' },
    },
    script: {
      type: 'string',
      minLength: 1,
      description: 'Several SQL statements separated by `;`, sent as one script (no params, no `${{ }}`). The result is the last statement’s.',
    },
    transaction: {
      type: 'boolean',
      description: 'Wrap in BEGIN/COMMIT; on any failure (or cancel) ROLLBACK, leaving the database unchanged.',
    },
  },
  oneOf: [
    { required: ['query'], not: { required: ['script'] }, description: 'One statement, with optional params.' },
    { required: ['script'], not: { anyOf: [{ required: ['query'] }, { required: ['params'] }] }, description: 'A script, without params.' },
  ],
};
