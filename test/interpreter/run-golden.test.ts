/**
 * Golden runbooks: every `test/runbooks/run/*.yaml` (not `lib/`) is run through the real CLI,
 * `runbook run <file> --json --state-dir <tmp>`, with `WORK=<a fresh temp dir>` in its environment
 * (shell steps keep counters and marker files there), and its comments say what must happen.
 *
 * Comment grammar — one directive a line, `# <directive>: <argument>`:
 *
 *   # args: --yes --set n=5          extra CLI arguments, split on whitespace
 *   # arg: x='; rm -rf / #           one extra CLI argument, verbatim (for values with spaces/quotes)
 *   # env: NAME=value                an environment variable for the run
 *   # expect exit: 1                 the exit code (default: 0)
 *   # expect run: rolled_back        run.finished.status
 *   # expect order: a b c            the distinct steps in order of their first step.started — exactly
 *   # expect status: a=succeeded b=pending   last step.finished status; `pending` = no step.finished
 *   # expect not started: x y        no step.started for these steps
 *   # expect attempts: flaky=3       step.finished.attempts
 *   # expect gaps: flaky >= 200ms 400ms   time between consecutive attempts' step.started, at least
 *   # expect duration: x < 2s        step.finished.duration_ms compared (<, <=, >=, >) to a duration
 *   # expect wall: < 4s              run.finished.duration_ms compared to a duration
 *   # expect overlap: b c            the [started, finished] intervals of b and c intersect
 *   # expect items start together: fe 0 1   for_each items fe[0] and fe[1] started within 100 ms of
 *                                    each other, before any later item
 *   # expect outputs: x {"k": 1}     step.finished.outputs equals this JSON
 *   # expect error: x ~ some text    step.finished.error contains the text
 *   # expect event: {json}           some event contains this JSON (toMatchObject)
 *   # expect no event: {json}        no event contains this JSON
 *   # expect sequence: t1 t2:id …    events of these types (and step/phase ids) occur in this order
 *                                    (not necessarily adjacent)
 *   # expect rollback order: c b a   rollback.started steps, exactly in this order
 *   # expect absent: text            the text is in neither stdout, stderr, nor the journal file
 *   # expect stderr: ~ text          stderr contains the text
 *   # expect no process: sleep 30.1  after the run, no live process has exactly this command line
 *
 * Every run is also checked for: the journal file holds exactly the lines printed on stdout, one
 * run.started first and one run.finished last, and the exit code agrees with the run status.
 *
 * The whole suite runs once per state store (spec §10): the file store (`--state-dir`) and the
 * PostgreSQL store (`--state postgres://…`, a fresh database per runbook, the journal read back with
 * `runbook export`).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent, StepFinishedEvent, StepStartedEvent } from '../../src/interpreter/events.js';
import { parseDuration } from '../../src/dsl/duration.js';
import { baseAddress, instanceAddress } from '../../src/interpreter/address.js';
import { assertBuilt, findProcesses, journalOf, REPO, runCli, tsOf, eventually } from '../helpers/cli.js';
import { postgresUnavailableReason, usePostgres, type PgServer } from '../helpers/postgres.js';

const DIR = join(REPO, 'test/runbooks/run');
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

interface Directive {
  key: string;
  arg: string;
}

function directivesOf(text: string): Directive[] {
  const out: Directive[] = [];
  for (const line of text.split('\n')) {
    const m = /^#\s*((?:expect [a-z ]+)|args|arg|env):\s?(.*)$/.exec(line);
    if (m) out.push({ key: m[1].trim(), arg: m[2] });
  }
  return out;
}

const ms = (d: string): number => {
  const v = parseDuration(d.trim());
  if (v === undefined) throw new Error(`bad duration in directive: ${d}`);
  return v;
};

function compare(actual: number, op: string, expected: number, what: string): void {
  const ok = op === '<' ? actual < expected : op === '<=' ? actual <= expected : op === '>=' ? actual >= expected : op === '>' ? actual > expected : false;
  expect(ok, `${what}: ${actual} ms ${op} ${expected} ms`).toBe(true);
}

const isStarted = (e: RunEvent): e is StepStartedEvent => e.type === 'step.started';
const isFinished = (e: RunEvent): e is StepFinishedEvent => e.type === 'step.finished';
const lastFinished = (events: RunEvent[], id: string) => events.filter(isFinished).filter((e) => e.step === id).at(-1);

function interval(events: RunEvent[], id: string): [number, number] {
  const s = events.find((e) => isStarted(e) && e.step === id);
  const f = lastFinished(events, id);
  expect(s, `step ${id} started`).toBeDefined();
  expect(f, `step ${id} finished`).toBeDefined();
  return [tsOf(s!), tsOf(f!)];
}

/** Does the event match a `type[:id]` token of `expect sequence`? */
function matchesToken(e: RunEvent, token: string): boolean {
  const [type, id] = token.split(/:(.*)/s);
  if (e.type !== type) return false;
  if (id === undefined) return true;
  const r = e as unknown as { step?: string; phase?: string };
  return r.step === id || (r.step === undefined && r.phase === id);
}

let root: string;
let pg: PgServer | undefined;
const stores = postgresUnavailableReason() === undefined ? ['file', 'postgres'] : ['file'];
beforeAll(async () => {
  assertBuilt();
  root = mkdtempSync(join(tmpdir(), 'runbook-golden-'));
  if (stores.includes('postgres')) pg = await usePostgres();
}, 60_000);
afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  await pg?.stop();
});

let databases = 0;
/** A fresh database of the shared cluster: runs of one test never meet another's locks. */
async function freshStateUrl(): Promise<string> {
  const name = `golden_${++databases}`;
  await pg!.psql(`CREATE DATABASE ${name}`);
  return pg!.url.replace(/\/[^/]*$/, `/${name}`);
}

// One store after the other (the runbooks of one store concurrently): the timing directives need the machine.
describe.each(stores)('golden runbooks (test/runbooks/run), %s store', (storeKind) => {
  it.concurrent.each(files)('%s', async (file) => {
    const text = readFileSync(join(DIR, file), 'utf8');
    const ds = directivesOf(text);
    const work = mkdtempSync(join(root, file.replace(/\.yaml$/, '') + '-'));
    const stateDir = join(work, '.state');
    const stateArgs = storeKind === 'file' ? ['--state-dir', stateDir] : ['--state', await freshStateUrl()];
    const args = ['run', join(DIR, file), '--json', ...stateArgs];
    const env: NodeJS.ProcessEnv = { WORK: work };
    for (const d of ds) {
      if (d.key === 'args') args.push(...d.arg.split(/\s+/).filter(Boolean));
      if (d.key === 'arg') args.push(d.arg);
      if (d.key === 'env') {
        const at = d.arg.indexOf('=');
        env[d.arg.slice(0, at)] = d.arg.slice(at + 1);
      }
    }
    const r = await runCli(args, { env, timeoutMs: 30_000 });
    const { events } = r;
    const ctx = `${file}\nexit ${r.code}\nstderr:\n${r.stderr}\nevents:\n${events.map((e) => JSON.stringify(e)).join('\n')}`;
    const wantExit = Number(ds.find((d) => d.key === 'expect exit')?.arg ?? 0);
    expect(r.code, ctx).toBe(wantExit);

    const started = events.find((e) => e.type === 'run.started');
    let journalText = '';
    if (started) {
      // Invariants of every run: the journal is what --json printed; one start, one end.
      journalText = storeKind === 'file' ? readFileSync(journalOf(stateDir, started.run), 'utf8') : (await runCli(['export', started.run, ...stateArgs])).stdout;
      expect(journalText, 'journal = stdout NDJSON').toBe(r.stdout);
      expect(events[0].type).toBe('run.started');
      expect(events.filter((e) => e.type === 'run.started')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'run.finished')).toHaveLength(1);
      const fin = events.at(-1)!;
      expect(fin.type).toBe('run.finished');
      const byStatus: Record<string, number> = { succeeded: 0, failed: 1, rolled_back: 1, rollback_failed: 3, aborted: 130 };
      expect(byStatus[(fin as { status: string }).status]).toBe(r.code);
    }

    for (const { key, arg } of ds) {
      const msg = `${key}: ${arg}\n${ctx}`;
      switch (key) {
        case 'expect exit':
        case 'args':
        case 'arg':
        case 'env':
          break;
        case 'expect run': {
          const fin = events.find((e) => e.type === 'run.finished') as { status?: string } | undefined;
          expect(fin?.status, msg).toBe(arg.trim());
          break;
        }
        case 'expect order': {
          const seen: string[] = [];
          for (const e of events) if (isStarted(e) && !seen.includes(e.step)) seen.push(e.step);
          expect(seen, msg).toEqual(arg.trim().split(/\s+/));
          break;
        }
        case 'expect status':
          for (const pair of arg.trim().split(/\s+/)) {
            const [id, status] = pair.split('=');
            expect(lastFinished(events, id)?.status ?? 'pending', `${id}: ${msg}`).toBe(status);
          }
          break;
        case 'expect not started':
          for (const id of arg.trim().split(/\s+/)) expect(events.some((e) => isStarted(e) && e.step === id), `${id}: ${msg}`).toBe(false);
          break;
        case 'expect attempts':
          for (const pair of arg.trim().split(/\s+/)) {
            const [id, n] = pair.split('=');
            expect(lastFinished(events, id)?.attempts, msg).toBe(Number(n));
          }
          break;
        case 'expect gaps': {
          const m = /^(\S+)\s+>=\s+(.+)$/.exec(arg.trim())!;
          const starts = events.filter((e) => isStarted(e) && e.step === m[1]).map(tsOf);
          const want = m[2].split(/\s+/).map(ms);
          expect(starts.length, msg).toBe(want.length + 1);
          want.forEach((w, i) => compare(starts[i + 1] - starts[i], '>=', w, `gap ${i + 1} of ${m[1]}`));
          break;
        }
        case 'expect duration': {
          const m = /^(\S+)\s+(<=|>=|<|>)\s+(\S+)$/.exec(arg.trim())!;
          const f = lastFinished(events, m[1]);
          expect(f, msg).toBeDefined();
          compare(f!.duration_ms, m[2], ms(m[3]), `duration of ${m[1]}`);
          break;
        }
        case 'expect wall': {
          const m = /^(<=|>=|<|>)\s+(\S+)$/.exec(arg.trim())!;
          const fin = events.find((e) => e.type === 'run.finished') as { duration_ms: number };
          compare(fin.duration_ms, m[1], ms(m[2]), 'run duration');
          break;
        }
        case 'expect overlap': {
          const [a, b] = arg.trim().split(/\s+/);
          const [as, af] = interval(events, a);
          const [bs, bf] = interval(events, b);
          expect(as < bf && bs < af, `${a} [${as}, ${af}] and ${b} [${bs}, ${bf}] overlap\n${msg}`).toBe(true);
          break;
        }
        case 'expect items start together': {
          const [id, i, j] = arg.trim().split(/\s+/);
          // Items are instances `<id>[<index>]` (spec §8) and carry their index.
          const start = (k: string) => events.find((e) => isStarted(e) && e.step === instanceAddress(id, Number(k)) && e.index === Number(k));
          const si = start(i);
          const sj = start(j);
          expect(si && sj, msg).toBeTruthy();
          const firstLater = events.filter((e) => isStarted(e) && baseAddress(e.step) === id && e.index! > Math.max(Number(i), Number(j))).map(tsOf)[0] ?? Infinity;
          expect(Math.max(tsOf(si!), tsOf(sj!)) < firstLater, msg).toBe(true);
          expect(Math.abs(tsOf(si!) - tsOf(sj!)) < 100, `items ${i} and ${j} started together\n${msg}`).toBe(true);
          break;
        }
        case 'expect outputs': {
          const m = /^(\S+)\s+(.+)$/.exec(arg.trim())!;
          expect(lastFinished(events, m[1])?.outputs, msg).toEqual(JSON.parse(m[2]));
          break;
        }
        case 'expect error': {
          const m = /^(\S+)\s+~\s+(.+)$/.exec(arg.trim())!;
          expect(lastFinished(events, m[1])?.error ?? '', msg).toContain(m[2]);
          break;
        }
        case 'expect event': {
          const want = JSON.parse(arg);
          expect(
            events.some((e) => {
              try {
                expect(e).toMatchObject(want);
                return true;
              } catch {
                return false;
              }
            }),
            msg,
          ).toBe(true);
          break;
        }
        case 'expect no event': {
          const want = JSON.parse(arg);
          const hit = events.find((e) => {
            try {
              expect(e).toMatchObject(want);
              return true;
            } catch {
              return false;
            }
          });
          expect(hit, msg).toBeUndefined();
          break;
        }
        case 'expect sequence': {
          let at = 0;
          for (const token of arg.trim().split(/\s+/)) {
            const found = events.findIndex((e, i) => i >= at && matchesToken(e, token));
            expect(found, `${token} after event #${at}\n${msg}`).toBeGreaterThanOrEqual(0);
            at = found + 1;
          }
          break;
        }
        case 'expect rollback order':
          expect(
            events.filter((e) => e.type === 'rollback.started').map((e) => (e as { step: string }).step),
            msg,
          ).toEqual(arg.trim().split(/\s+/));
          break;
        case 'expect absent':
          expect(r.stdout.includes(arg), `stdout holds ${arg}`).toBe(false);
          expect(r.stderr.includes(arg), `stderr holds ${arg}`).toBe(false);
          expect(journalText.includes(arg), `journal holds ${arg}`).toBe(false);
          expect(journalText.length, 'a journal was written').toBeGreaterThan(0);
          break;
        case 'expect stderr': {
          expect(r.stderr, msg).toContain(arg.replace(/^~\s*/, ''));
          break;
        }
        case 'expect no process': {
          const gone = await eventually(() => findProcesses(arg.trim()).length === 0, 1000);
          expect(gone, `a process '${arg}' is still running\n${msg}`).toBe(true);
          break;
        }
        default:
          throw new Error(`${file}: unknown directive '${key}'`);
      }
    }
  }, 40_000);
});
