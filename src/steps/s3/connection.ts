/**
 * The `s3` connection kind: the settings of `connections.<name>.s3`, for the s3 thread (./thread.ts),
 * which makes the SDK client the steps use. A client on this thread is made only when asked for
 * (`plan --preflight`): the AWS SDK is never loaded here by `validate`, `plan` or a run's steps.
 */
import { createRequire } from 'node:module';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { closeInS3Thread } from './thread.js';
import type { ConnectionKind, PreflightCheck } from '../types.js';

type Sdk = typeof import('@aws-sdk/client-s3');
let sdk: Sdk | undefined;
// `open` is synchronous (callers use the client at once), so the SDK — a CommonJS package, the same
// instance that `import` gives the action modules — is required on first use rather than imported.
const loadSdk = (): Sdk => (sdk ??= createRequire(import.meta.url)('@aws-sdk/client-s3') as Sdk);

export interface S3ConnectionConfig {
  bucket?: string;
  region?: string;
  endpoint?: string;
  force_path_style?: boolean;
  access_key_id?: string;
  secret_access_key?: string;
  session_token?: string;
  profile?: string;
}

export interface S3Connection {
  /** A client on this thread, made on first use: the steps' own work runs in the s3 thread (./thread.ts), with a client of its own for this connection. */
  readonly client: S3Client;
  config: S3ConnectionConfig;
  /** The SDK client's settings (`makeS3ClientConfig` of config and environment), made once at open. */
  clientConfig: S3ClientConfig;
  /** This connection's name in the s3 thread. */
  id: string;
  close(): void;
}

let opened = 0;

const text = (description: string) => ({ type: 'string', description });

export const s3ConnectionSchema = {
  type: 'object',
  description: 'An S3 (or S3-compatible: MinIO, Ceph, s3rver) endpoint and its credentials.',
  additionalProperties: false,
  properties: {
    bucket: text('Default bucket of the steps using this connection (a step may override it with `bucket`).'),
    region: text('AWS region (default: AWS_REGION / AWS_DEFAULT_REGION, else us-east-1).'),
    endpoint: text('Endpoint URL of an S3-compatible server, e.g. http://127.0.0.1:9000. Empty = AWS itself.'),
    force_path_style: {
      type: 'boolean',
      description:
        'Address buckets as http://host/bucket/key instead of http://bucket.host/key. Default: true with an `endpoint`, false for AWS.',
    },
    access_key_id: text('Access key id; use a secret. Without it the standard AWS credential chain is used (env, profile, instance role).'),
    secret_access_key: text('Secret access key; use a secret.'),
    session_token: text('Session token for temporary credentials; use a secret.'),
    profile: text('Profile of ~/.aws/credentials and ~/.aws/config to take credentials and region from.'),
  },
};

// `${{ env.X }}` of an unset variable resolves to ''; treat it as "not given".
const given = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/** Build the SDK client configuration from a connection's resolved config. */
export function makeS3ClientConfig(config: S3ConnectionConfig, env: NodeJS.ProcessEnv): S3ClientConfig {
  const accessKeyId = given(config.access_key_id);
  const secretAccessKey = given(config.secret_access_key);
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new Error('s3 connection: access_key_id and secret_access_key must be given together');
  }
  const profile = given(config.profile);
  const endpoint = given(config.endpoint);
  return {
    region: given(config.region) ?? given(env.AWS_REGION) ?? given(env.AWS_DEFAULT_REGION) ?? (profile ? undefined : 'us-east-1'),
    endpoint,
    // MinIO, Ceph, s3rver and most local endpoints only answer path-style requests.
    forcePathStyle: config.force_path_style ?? endpoint !== undefined,
    profile,
    credentials:
      accessKeyId !== undefined && secretAccessKey !== undefined
        ? { accessKeyId, secretAccessKey, sessionToken: given(config.session_token) }
        : undefined,
    // The SDK's default (checksums on every request, aws-chunked streaming bodies) makes s3rver and
    // other S3-compatible servers store the chunk framing inside the object.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

export function describeS3Connection(config: S3ConnectionConfig): string {
  const where = given(config.endpoint) ?? `aws:${given(config.region) ?? 'default region'}`;
  return given(config.bucket) ? `s3://${config.bucket} at ${where}` : `s3 at ${where}`;
}

async function preflightS3(conn: S3Connection, config: S3ConnectionConfig): Promise<PreflightCheck> {
  const target = describeS3Connection(config);
  const abortSignal = AbortSignal.timeout(10_000);
  const { HeadBucketCommand, ListBucketsCommand } = loadSdk();
  try {
    const bucket = given(config.bucket);
    if (bucket !== undefined) {
      await conn.client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal });
      return { target, ok: true, detail: `bucket ${bucket} reachable` };
    }
    await conn.client.send(new ListBucketsCommand({}), { abortSignal });
    return { target, ok: true, detail: 'endpoint reachable (no default bucket)' };
  } catch (err) {
    return { target, ok: false, detail: describeS3Error(err) };
  }
}

/** A short, human message for an SDK or network error (no credentials in it). */
export function describeS3Error(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  // HEAD responses have no body, so the SDK only knows the status.
  if (e.name === 'NotFound' || (status === 404 && (e.name === 'Unknown' || !e.message))) return 'not found (404)';
  if (e.name === 'Forbidden' || (status === 403 && e.name === 'Unknown')) return 'access denied (403)';
  const code = e.code ?? (e as { errno?: string }).errno;
  if (code && /^E[A-Z]+$/.test(String(code))) return `${code}: ${e.message ?? ''}`.trim();
  const name = e.name && e.name !== 'Error' ? `${e.name}: ` : '';
  return `${name}${e.message ?? String(err)}${status ? ` (HTTP ${status})` : ''}`;
}

export const s3Connection: ConnectionKind<S3ConnectionConfig, S3Connection> = {
  name: 's3',
  urlFields: ['endpoint'],
  description: 'An S3 or S3-compatible object store.',
  schema: s3ConnectionSchema,
  open(config, ctx) {
    // Checked here, as the first step using the connection starts.
    const clientConfig = makeS3ClientConfig(config, ctx.env);
    let client: S3Client | undefined;
    const id = `s3-${++opened}`;
    return {
      config,
      clientConfig,
      id,
      get client() {
        return (client ??= new (loadSdk().S3Client)(clientConfig));
      },
      close() {
        client?.destroy();
        closeInS3Thread(id);
      },
    };
  },
  close(conn) {
    conn.close();
  },
  preflight: preflightS3,
  describe: describeS3Connection,
};
