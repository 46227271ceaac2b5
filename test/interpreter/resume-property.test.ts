/**
 * Property: whatever the runbook and wherever the interpreter is killed, resuming until the run ends
 * (1) runs every instance that the uninterrupted run ran — none is skipped;
 * (2) runs none of them more than once, except instances `resume` re-ran explicitly (journaled in
 *     `run.resumed.inflight`: idempotent ones, and in-flight ones under --rerun-inflight);
 * (3) ends with the status of the uninterrupted run.
 *
 * Runbooks come from test/helpers/gen-runbook.ts (phases, needs, for_each flat and over a
 * sub-runbook with nested items, failures, rollbacks, finally). Kill points are inside step and
 * rollback bodies, before or after their effect (a counter line), and each fires once; every resume
 * uses --rerun-inflight. One shape's reference run serves VARIANTS kill variants.
 *
 * RUNBOOK_PROP_SEED=<n> replays a run of the test; RUNBOOK_PROP_CASES sets the number of cases.
 *
 * Cost: ~2.3 CLI invocations per case (the run, its resumes) plus one reference run per shape, about
 * 1 s of CPU per case here (20 cases: 24 s user+sys), so 200 cases take ~100 s on two idle cores and
 * several minutes on a loaded machine (482 s at load average 17 on 2 cores).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/interpreter/events.js';
import { generate } from '../helpers/gen-runbook.js';
import { assertBuilt, journalOf, readJournalEvents, runCli } from '../helpers/cli.js';

const SEED = Number(process.env.RUNBOOK_PROP_SEED ?? Math.floor(Math.random() * 1e9));
const CASES = Number(process.env.RUNBOOK_PROP_CASES ?? 200);
const VARIANTS = 5;
const PARALLEL = Number(process.env.RUNBOOK_PROP_PARALLEL ?? 3);

let root: string;
beforeAll(() => {
  assertBuilt();
  root = mkdtempSync(join(tmpdir(), 'runbook-prop-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const counts = (dir: string): Map<string, number> => {
  const m = new Map<string, number>();
  const f = join(dir, 'count');
  if (!existsSync(f)) return m;
  for (const l of readFileSync(f, 'utf8').split('\n').filter(Boolean)) m.set(l, (m.get(l) ?? 0) + 1);
  return m;
};

async function runTo(dir: string, files: Record<string, string>): Promise<{ events: RunEvent[]; invocations: number }> {
  mkdirSync(dir, { recursive: true });
  for (const [f, t] of Object.entries(files)) writeFileSync(join(dir, f), t);
  const stateDir = join(dir, 'state');
  const env = { WORK: dir };
  const first = await runCli(['run', join(dir, 'rb.yaml'), '--json', '--state-dir', stateDir], { env, timeoutMs: 30_000 });
  const runId = first.events[0]?.run;
  if (!runId) throw new Error(`run did not start: ${first.stderr}`);
  let invocations = 1;
  const journal = () => readJournalEvents(journalOf(stateDir, runId));
  while (!journal().some((e) => e.type === 'run.finished')) {
    if (invocations > 8) throw new Error('the run did not end after 8 resumes');
    const r = await runCli(['resume', runId, '--rerun-inflight', '--json', '--state-dir', stateDir], { env, timeoutMs: 30_000 });
    invocations++;
    if (r.code === 2) throw new Error(`resume refused: ${r.stderr}`);
  }
  return { events: journal(), invocations };
}

/** Addresses resume re-ran on purpose, with how often: `rb:<address>` for a rollback. */
function reruns(events: RunEvent[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of events) {
    if (e.type !== 'run.resumed') continue;
    for (const x of e.inflight) if (x.decision === 'rerun') m.set((x.rollback ? 'rb:' : '') + x.step, (m.get((x.rollback ? 'rb:' : '') + x.step) ?? 0) + 1);
  }
  return m;
}

const statusOf = (events: RunEvent[]) => (events.find((e) => e.type === 'run.finished') as { status: string } | undefined)?.status;

describe('resume property: killed anywhere, resumed until the end', () => {
  it(`${CASES} generated cases`, async () => {
    console.log(`resume property test: seed ${SEED} (RUNBOOK_PROP_SEED=${SEED} replays it), ${CASES} cases`);
    const shapes = Math.ceil(CASES / VARIANTS);
    const failures: string[] = [];
    let kills = 0;
    let invocations = 0;
    const t0 = Date.now();
    const work = async (shape: number) => {
      const seed = SEED + shape;
      const ref = await runTo(join(root, `s${seed}`, 'ref'), generate(seed).reference);
      const refDir = join(root, `s${seed}`, 'ref');
      const refCounts = counts(refDir);
      const reached = [...new Set(readFileSync(join(refDir, 'bodies'), 'utf8').split('\n').filter(Boolean).map(Number))];
      for (let v = 0; v < VARIANTS && shape * VARIANTS + v < CASES; v++) {
        const g = generate(seed, seed * 31 + v, reached);
        const dir = join(root, `s${seed}`, `v${v}`);
        const where = `case seed ${seed} variant ${v} (${g.description}), files in ${dir}`;
        try {
          const r = await runTo(dir, g.files);
          invocations += r.invocations;
          kills += r.invocations - 1;
          const got = counts(dir);
          const again = reruns(r.events);
          for (const addr of new Set([...refCounts.keys(), ...got.keys()])) {
            const want = refCounts.get(addr) ?? 0;
            const n = got.get(addr) ?? 0;
            if (n < want) failures.push(`${where}: ${addr} ran ${n}× but ${want}× uninterrupted (skipped work)`);
            else if (n > want + (again.get(addr) ?? 0)) failures.push(`${where}: ${addr} ran ${n}×, uninterrupted ${want}×, re-run on purpose ${again.get(addr) ?? 0}×`);
          }
          if (statusOf(r.events) !== statusOf(ref.events)) failures.push(`${where}: ended ${statusOf(r.events)}, uninterrupted ${statusOf(ref.events)}`);
        } catch (e) {
          failures.push(`${where}: ${(e as Error).message}`);
        }
        if (!failures.some((f) => f.includes(dir))) rmSync(dir, { recursive: true, force: true });
      }
    };
    let next = 0;
    await Promise.all(Array.from({ length: PARALLEL }, async () => {
      while (next < shapes) await work(next++);
    }));
    console.log(`resume property test: ${CASES} cases, ${kills} kills resumed, ${invocations} killed-run invocations, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(failures, `seed ${SEED}`).toEqual([]);
  }, 900_000); // ~200 s on an idle two-core machine; a loaded one (CI neighbours) took 600 s
});
