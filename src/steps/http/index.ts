/**
 * The `http` step type (spec §2): one request through undici, checked against `expect_status`.
 * Only the description lives here; the request code (and undici) is imported on the first execute.
 */
import { httpBodySchema, type HttpBody } from './schema.js';
import type { StepContext, StepType } from '../types.js';

export { httpConnection } from './connection.js';
export type { HttpBody } from './schema.js';

let implementation: Promise<typeof import('./execute.js')> | undefined;
const loadExecute = () => (implementation ??= import('./execute.js'));

let preflight: Promise<typeof import('./preflight.js')> | undefined;
const loadPreflight = () => (preflight ??= import('./preflight.js'));

async function executeHttp(b: HttpBody, ctx: StepContext): Promise<Record<string, unknown>> {
  return (await loadExecute()).executeHttp(b, ctx);
}

/** What is sent, so `plan` and `--step` show it (a rollback's `PUT /upstream {"live":"blue"}` matters). */
function renderPayload(b: HttpBody): string {
  const text = b.json !== undefined ? JSON.stringify(b.json) : b.form !== undefined ? new URLSearchParams(b.form as Record<string, string>).toString() : b.body;
  if (text === undefined) return '';
  return ` ${text.length > 120 ? `${text.slice(0, 119)}…` : text}`;
}

function renderHttp(b: HttpBody): string {
  const where = b.connection ? `${b.connection}:${b.url}` : b.url;
  const expect = b.expect_status === undefined ? '' : ` (expect ${[b.expect_status].flat().join(', ')})`;
  return `${(b.method ?? 'GET').toUpperCase()} ${where}${renderPayload(b)}${expect}`;
}

export const httpStep: StepType<HttpBody> = {
  name: 'http',
  description: 'An HTTP request through undici, checked against the expected status.',
  schema: httpBodySchema,
  // A POST/PUT/DELETE changes the world; GETs are not told apart.
  sideEffects: true,
  // GET and HEAD (spec §12); a method written as an expression might be anything.
  readOnly: (b) => ['GET', 'HEAD'].includes(String(b.method ?? 'GET').toUpperCase()),
  connectionKind: 'http',
  // Values in the url are percent-encoded for their part of it (spec §12).
  urlFields: ['url'],
  render: renderHttp,
  preflight: async (b, ctx) => (await loadPreflight()).preflightHttp(b, ctx),
  execute: executeHttp,
};
