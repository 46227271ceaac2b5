/**
 * A local S3 server (s3rver, in-process) for the sandbox and the tests: 127.0.0.1, a free port,
 * a temp dir of its own, fixed credentials.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface S3Server {
  /** `http://127.0.0.1:<port>` — use with `forcePathStyle: true`. */
  endpoint: string;
  port: number;
  accessKeyId: 'S3RVER';
  secretAccessKey: 'S3RVER';
  region: 'us-east-1';
  /** Where s3rver keeps the buckets (`<dir>/<bucket>/<key>._S3rver_object`). */
  dir: string;
  stop(): Promise<void>;
}

/**
 * The AWS SDK's client options for this server (plain data: it also crosses to another process as
 * JSON). No flexible checksums: s3rver does not know them.
 */
export function s3ClientConfig(server: Pick<S3Server, 'endpoint' | 'region' | 'accessKeyId' | 'secretAccessKey'>) {
  return {
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED' as const,
    responseChecksumValidation: 'WHEN_REQUIRED' as const,
  };
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

// s3rver ships no types; load it through require and describe the little we use.
const require = createRequire(import.meta.url);

/** Start s3rver with the given buckets (names ≥ 3 chars). `dir` defaults to a new temp dir, removed by `stop()`. */
export async function startS3(opts: { buckets?: string[]; dir?: string } = {}): Promise<S3Server> {
  const S3rver = require('s3rver') as S3rverConstructor;
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'runbook-s3-')));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    // Path-style only: virtual-host buckets would need DNS for <bucket>.127.0.0.1.
    vhostBuckets: false,
    configureBuckets: (opts.buckets ?? []).map((name) => ({ name })),
  });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (err) {
    if (ownDir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    region: 'us-east-1',
    dir,
    async stop() {
      const closed = server.close();
      // Clients keep sockets alive; without this close() waits for them to time out.
      server.httpServer?.closeAllConnections();
      await closed;
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
