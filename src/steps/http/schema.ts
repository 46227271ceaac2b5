/**
 * JSON Schema of the `http` step body.
 */
import type { JsonSchema } from '../../dsl/json-schema.js';
import { headersSchema } from './connection.js';

export interface HttpBody {
  connection?: string;
  method?: string;
  url: string;
  headers?: Record<string, string>;
  query?: Record<string, unknown>;
  json?: unknown;
  body?: string;
  form?: Record<string, unknown>;
  expect_status?: number | number[];
  insecure_tls?: boolean;
  ca_file?: string;
  follow_redirects?: boolean;
}

export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

const status = { type: 'integer', minimum: 100, maximum: 599 };
const scalar = { type: ['string', 'number', 'boolean'] };

export const httpBodySchema: JsonSchema = {
  type: 'object',
  description: 'An HTTP request; fails unless the status is expected (default: any 2xx).',
  additionalProperties: false,
  required: ['url'],
  properties: {
    connection: { type: 'string', description: 'Name of an `http` connection (base URL, headers, TLS). Optional when `url` is absolute.' },
    method: { enum: METHODS, description: 'HTTP method (default GET).' },
    url: {
      type: 'string',
      description: "Absolute URL, or a path appended to the connection's `base_url` (`/actuator/health`).",
    },
    headers: { ...headersSchema, description: "Request headers; they override the connection's headers of the same name." },
    query: {
      type: 'object',
      description: 'Query parameters added to the URL, name → value (a list repeats the parameter).',
      additionalProperties: { anyOf: [scalar, { type: 'array', items: scalar }] },
    },
    json: { description: 'Request body sent as JSON (Content-Type: application/json). Give one of `json`, `body`, `form`.' },
    body: { type: 'string', description: 'Raw request body (set Content-Type in `headers`). Give one of `json`, `body`, `form`.' },
    form: {
      type: 'object',
      description: 'Request body sent URL-encoded (application/x-www-form-urlencoded). Give one of `json`, `body`, `form`.',
      additionalProperties: scalar,
    },
    expect_status: {
      description: 'Accepted status code(s), e.g. 200 or [200, 503]. Default: any 2xx. Any other status fails the step.',
      anyOf: [status, { type: 'array', items: status, minItems: 1 }],
    },
    insecure_tls: { type: 'boolean', description: 'Accept any TLS certificate for this request.' },
    ca_file: { type: 'string', description: 'PEM file of the CA(s) for this request (relative to the runbook file).' },
    follow_redirects: { type: 'boolean', description: 'Follow redirects, up to 5 (default true).' },
  },
};
