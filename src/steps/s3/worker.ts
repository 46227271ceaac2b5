/**
 * The thread the s3 step's work runs in (./thread.ts starts it): the AWS SDK's clients, their requests,
 * the streams of a transfer and its sha256. The interpreter's thread only sends it a step's body and
 * gets back its result, its failure or its progress.
 */
import '../../util/quiet-sdk-warning.js';
import { parentPort } from 'node:worker_threads';
import { GetObjectCommand, HeadObjectCommand, ListObjectsCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { runS3Action } from './actions.js';
import { describeS3Error, makeS3ClientConfig } from './connection.js';
import type { S3Body } from './schema.js';
import { listSettings, s3Url, transferSettings } from './settings.js';
import { StepFailure, type StepContext } from '../types.js';
import type { ToThread } from './thread.js';

const port = parentPort!;
const clients = new Map<string, S3Client>();
const running = new Map<number, AbortController>();

/**
 * The SDK's first request of a kind costs ~20 ms more than the next one (its serialisers, signer,
 * endpoint rules and XML parser get ready on first use). The thread pays that as it starts, while the
 * CLI is still loading, against a stand-in that answers in memory: no request leaves the thread.
 * A step's first request then costs what any later one does.
 */
async function warmUp(): Promise<void> {
  const xml = '<?xml version="1.0"?><ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>1</Size><ETag>"e"</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified></Contents></ListBucketResult>';
  const standIn = {
    async handle(req: { method: string; query?: Record<string, unknown> }) {
      const list = req.method === 'GET' && req.query?.prefix !== undefined;
      const body = req.method === 'HEAD' ? '' : list ? xml : 'x';
      const headers = { 'content-length': String(body.length), 'content-type': list ? 'application/xml' : 'application/octet-stream', etag: '"e"', 'last-modified': 'Thu, 01 Jan 2026 00:00:00 GMT', 'x-amz-meta-sha256': 'e' };
      return { response: { statusCode: 200, reason: 'OK', headers, body: Readable.from([Buffer.from(body)]) } };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
  };
  const c = new S3Client({ ...makeS3ClientConfig({ endpoint: 'http://127.0.0.1:9', access_key_id: 'warm', secret_access_key: 'warm' }, {}), requestHandler: standIn });
  try {
    await c.send(new ListObjectsCommand({ Bucket: 'b', Prefix: 'p/' }));
    await c.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }));
    await (await c.send(new GetObjectCommand({ Bucket: 'b', Key: 'k' }))).Body?.transformToByteArray();
  } catch {
    // A warm-up that fails warms less; the steps' requests do not depend on it.
  } finally {
    c.destroy();
  }
}
const warm = warmUp();

function client(key: string, config: S3ClientConfig): S3Client {
  let c = clients.get(key);
  if (!c) clients.set(key, (c = new S3Client(config)));
  return c;
}

async function exec(id: number, m: Extract<ToThread, { t: 'exec' }>): Promise<void> {
  const controller = new AbortController();
  running.set(id, controller);
  const { body, bucket } = m;
  await warm;
  try {
    Object.assign(transferSettings, m.settings.transfer);
    Object.assign(listSettings, m.settings.list);
    const target = { client: client(m.conn, m.clientConfig), bucket, signal: controller.signal };
    const ctx = {
      baseDir: m.baseDir,
      signal: controller.signal,
      progress: (p: unknown) => port.postMessage({ t: 'progress', id, p }),
      partialFile: (path: string) => port.postMessage({ t: 'partial', id, path }),
    } as unknown as StepContext;
    const result = await runS3Action(target, body as S3Body, ctx);
    port.postMessage({ t: 'done', id, result });
  } catch (err) {
    if (controller.signal.aborted) port.postMessage({ t: 'aborted', id });
    else if (err instanceof StepFailure) port.postMessage({ t: 'failed', id, message: err.message, result: err.result, code: err.code });
    else {
      const object = body.action === 'copy' ? `${s3Url(bucket, body.from)} → ${body.to}` : s3Url(bucket, body.key ?? body.prefix);
      port.postMessage({ t: 'failed', id, message: `s3 ${body.action} ${object}: ${describeS3Error(err)}` });
    }
  } finally {
    running.delete(id);
  }
}

port.on('message', (m: ToThread) => {
  switch (m.t) {
    case 'exec':
      void exec(m.id, m);
      break;
    case 'abort':
      running.get(m.id)?.abort(new Error('aborted'));
      break;
    case 'close':
      clients.get(m.conn)?.destroy();
      clients.delete(m.conn);
      break;
    case 'stop':
      for (const c of clients.values()) c.destroy();
      clients.clear();
      // The launcher's code cache of this thread's bundle (bin/runbook.cjs), when there was none (or
      // it was refused): a thread never sees the process's exit, so it is written now.
      ((globalThis as Record<symbol, unknown>)[Symbol.for('runbook.saveCodeCache')] as (() => void) | undefined)?.();
      port.postMessage({ t: 'stopped' });
      break;
  }
});
