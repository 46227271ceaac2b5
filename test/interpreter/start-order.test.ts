/**
 * Steps that become ready together start one event-loop turn apart, in the order they are written
 * (src/interpreter/scheduler.ts): each runs to its first wait before the next one starts. A step
 * whose start is slow and synchronous (here a `when` that takes ~0.3 s to evaluate; in a drill, the
 * first load of a database driver, ~30 ms) no longer holds back the work the step written before it
 * hands to another thread: the s3 step's request. (That they still run concurrently: bench/interpreter.mjs
 * (c) and (d), and the golden runbooks' `expect overlap`.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRunbook, type LoadedRunbook } from '../../src/dsl/validate.js';
import type { RunbookModel } from '../../src/dsl/model.js';
import { Runner } from '../../src/interpreter/run.js';
import { autoDecider } from '../../src/interpreter/decisions.js';
import { readJournal } from '../../src/interpreter/journal.js';
import { stopS3Thread } from '../../src/steps/s3/thread.js';

let dir: string;
let server: ChildProcess | undefined;
let endpoint = '';
const arrivals = () => join(dir, 'arrivals');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'runbook-start-order-'));
  // An endpoint in a process of its own, so that it notes each request's arrival while this process
  // is busy: it answers every request 404 (the step fails; only the time of its request matters).
  const code = `const fs = require('fs');
require('http').createServer((q, s) => { fs.appendFileSync(${JSON.stringify(arrivals())}, Date.now() + ' ' + q.method + ' ' + q.url + '\\n'); s.writeHead(404, { 'content-type': 'application/xml' }); s.end('<Error><Code>NoSuchBucket</Code></Error>'); })
  .listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;
  server = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(server.stdout!, 'data')) as [Buffer];
  endpoint = `http://127.0.0.1:${chunk.toString().trim()}`;
});
afterAll(async () => {
  await stopS3Thread();
  if (server?.pid) server.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('steps ready together', () => {
  it("the s3 step written first has sent its request before the next step's slow start ends", async () => {
    // ~4 MB, a comma every 4 characters: each split() builds a list of 1M strings.
    const big = 'abc,'.repeat(1_000_000);
    writeFileSync(
      join(dir, 'rb.yaml'),
      `runbook: start-order
params:
  big: { type: string, default: "" }
connections:
  store: { s3: { bucket: b, region: us-east-1, endpoint: "${endpoint}", access_key_id: k, secret_access_key: s } }
phases:
  # The s3 thread is started and warm before the phase that matters (in this process it loads the
  # SDK unbundled, which can take longer than the slow guard below).
  - id: warm
    steps:
      - id: warm-s3
        s3: { connection: store, action: latest, prefix: "warm/" }
        on_failure: continue
  - id: main
    steps:
      - id: first
        needs: []
        s3: { connection: store, action: latest, prefix: "p/" }
        on_failure: continue
      - id: slow-start
        needs: []
        when: "length(split(params.big, ',')) + length(split(params.big, ',')) + length(split(params.big, ',')) < 0"
        log: never
      - id: beside
        needs: []
        wait: 300ms
`,
    );
    const loaded = loadRunbook(join(dir, 'rb.yaml')) as LoadedRunbook & { model: RunbookModel };
    const runner = new Runner({ loaded, params: { big }, secrets: {}, stateDir: join(dir, 'state'), decider: autoDecider({ yes: true, user: 'test' }) });
    const result = await runner.run();
    expect(result.status).toBe('succeeded');
    const events = readJournal(join(dir, 'state', 'runs', result.runId, 'journal.jsonl')).events;
    const of = (type: string, step: string) => events.find((e) => e.type === type && (e as { step?: string }).step === step) as (typeof events)[number] & { status?: string; error?: string };
    const at = (type: string, step: string) => Date.parse(of(type, step).ts);
    const phaseStarted = Date.parse(events.find((e) => e.type === 'phase.started' && (e as { phase?: string }).phase === 'main')!.ts);
    // The step reached the endpoint (and failed on its answer, as it should).
    expect(of('step.finished', 'first')).toMatchObject({ status: 'failed' });
    const requests = readFileSync(arrivals(), 'utf8').trim().split('\n');
    expect(requests[0]).toMatch(/^\d+ GET \/b\/\?prefix=warm%2F/);
    const ours = requests.find((r) => / GET \/b\/\?prefix=p%2F/.test(r));
    expect(ours).toBeDefined();
    const requested = Number(ours!.split(' ')[0]);
    // (A step whose guard is false is skipped without a step.started.)
    const slowDone = at('step.finished', 'slow-start');
    expect(of('step.finished', 'slow-start')).toMatchObject({ status: 'skipped' });
    // The guard really is slow, so the order below is not a matter of luck.
    expect(slowDone - phaseStarted).toBeGreaterThan(150);
    // The request arrived while the guard was being evaluated. Without the turn between starts, the
    // guard runs first, on the same tick, and the request is only sent after it.
    expect(requested).toBeLessThan(slowDone - 50);
    expect(of('step.finished', 'beside')).toMatchObject({ status: 'succeeded' });
  });
});
