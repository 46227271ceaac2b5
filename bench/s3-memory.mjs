#!/usr/bin/env node
// Peak memory of the s3 step moving a large file: put then get of a generated file (default 1 GiB)
// through a local s3rver. s3rver runs in a child process so only the step's memory is measured.
// Also how busy the interpreter's thread was meanwhile (event-loop utilisation): the steps' work runs
// in the s3 thread (src/steps/s3/thread.ts); the get is repeated on the interpreter's thread
// (RUNBOOK_S3_THREAD=0) for comparison.
//
//   npm run build && node bench/s3-memory.mjs [size-in-MiB]
//   RUNBOOK_DIST=/tmp/s3build node bench/s3-memory.mjs 1024    # against a build elsewhere
import { fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MiB = 1024 * 1024;
const dist = resolve(process.env.RUNBOOK_DIST ?? join(fileURLToPath(import.meta.url), '../../dist'));
const load = (p) => import(pathToFileURL(join(dist, p)).href);
// The pinned AWS SDK warns that its later releases need Node 22; silenced as the CLI does (here the
// comparison on the interpreter's thread loads the SDK in this process).
await load('src/util/quiet-sdk-warning.js');

if (process.argv[2] === '--serve') {
  // Child: run s3rver until told to stop.
  const { startS3 } = await load('examples/sandbox/services/s3.js');
  const server = await startS3({ buckets: ['bench'] });
  process.send({ endpoint: server.endpoint });
  process.on('message', async () => {
    await server.stop();
    process.exit(0);
  });
} else {
  await main(Number(process.argv[2] ?? 1024));
}

async function main(sizeMiB) {
  const { s3Step, s3Connection } = await load('src/steps/s3/index.js');
  const dir = await mkdtemp(join(tmpdir(), 'runbook-s3-bench-'));
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { stdio: 'inherit' });
  try {
    const { endpoint } = await new Promise((ok, fail) => {
      child.once('message', ok);
      child.once('exit', (code) => fail(new Error(`s3rver child exited (${code})`)));
    });
    const source = join(dir, 'source.bin');
    const sourceSha = await generate(source, sizeMiB);
    const config = { bucket: 'bench', region: 'us-east-1', endpoint, force_path_style: true, access_key_id: 'S3RVER', secret_access_key: 'S3RVER' };
    const conn = s3Connection.open(config, { runId: 'bench', baseDir: dir, env: process.env });
    const ctx = {
      signal: new AbortController().signal,
      runId: 'bench',
      stepId: 'bench',
      baseDir: dir,
      env: process.env,
      output() {},
      progress() {},
      connection: async () => conn,
    };
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    console.log(`file ${sizeMiB} MiB, sha256 ${sourceSha.slice(0, 16)}…; baseline RSS ${mb(baseline)}`);

    const put = await measure(() => s3Step.execute({ connection: 'b', action: 'put', key: 'big.bin', file: 'source.bin' }, ctx));
    console.log(`put: ${put.seconds.toFixed(1)} s, ${mb(put.result.bytes / put.seconds)}/s, peak RSS ${mb(put.peak)} (+${mb(put.peak - baseline)})`);
    if (put.result.sha256 !== sourceSha) throw new Error('put: sha256 differs');

    const get = await measure(() => s3Step.execute({ connection: 'b', action: 'get', key: 'big.bin', file: 'copy.bin' }, ctx));
    console.log(`get: ${get.seconds.toFixed(1)} s, ${mb(get.result.bytes / get.seconds)}/s, peak RSS ${mb(get.peak)} (+${mb(get.peak - baseline)})`);
    if (get.result.sha256 !== sourceSha || !get.result.verified) throw new Error('get: sha256 not verified');
    if ((await stat(join(dir, 'copy.bin'))).size !== sizeMiB * MiB) throw new Error('get: size differs');
    for (const [what, m] of [['put', put], ['get', get]]) console.log(`${what}: the interpreter's thread was busy ${Math.round(m.busy)} ms of ${Math.round(m.seconds * 1000)} (${Math.round((100 * m.busy) / (m.seconds * 1000))}%)`);
    process.env.RUNBOOK_S3_THREAD = '0';
    const inline = await measure(() => s3Step.execute({ connection: 'b', action: 'get', key: 'big.bin', file: 'copy2.bin' }, ctx));
    delete process.env.RUNBOOK_S3_THREAD;
    if (inline.result.sha256 !== sourceSha || !inline.result.verified) throw new Error('get (interpreter thread): sha256 not verified');
    console.log(`get on the interpreter's thread instead (RUNBOOK_S3_THREAD=0): ${inline.seconds.toFixed(1)} s, peak RSS ${mb(inline.peak)}, the thread busy ${Math.round(inline.busy)} ms (${Math.round((100 * inline.busy) / (inline.seconds * 1000))}%)`);

    console.log(`max RSS of the process (getrusage): ${mb(process.resourceUsage().maxRSS * 1024)}`);
    s3Connection.close(conn);
  } finally {
    child.send('stop');
    await new Promise((r) => child.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }
}

// Pseudo-random data (one random MiB, each copy stamped with its index) so nothing compresses or dedups.
async function generate(path, sizeMiB) {
  const block = randomBytes(MiB);
  const hash = createHash('sha256');
  async function* chunks() {
    for (let i = 0; i < sizeMiB; i++) {
      const chunk = Buffer.from(block);
      chunk.writeUInt32BE(i, 0);
      hash.update(chunk);
      yield chunk;
    }
  }
  await pipeline(chunks(), createWriteStream(path));
  return hash.digest('hex');
}

async function measure(fn) {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const started = performance.now();
  const elu = performance.eventLoopUtilization();
  try {
    const result = await fn();
    const busy = performance.eventLoopUtilization(elu).active;
    return { result, peak: Math.max(peak, process.memoryUsage().rss), seconds: (performance.now() - started) / 1000, busy };
  } finally {
    clearInterval(timer);
  }
}

function mb(bytes) {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

