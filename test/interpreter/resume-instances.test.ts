/**
 * Resume per instance (spec §8), each case a real run of the built CLI killed with SIGKILL at a
 * chosen point and resumed; counter files (appended by the steps' shell scripts) tell what ran.
 *
 * Each of these failed before instances were the unit of state (v1 keyed resume by dotted step id):
 * 1. for_each over a sub-runbook: item 0's finished children stood in for later items.
 * 2. a flat for_each: only step.started was journaled per item, so finished items ran again.
 * 3. a kill during a rollback: it ran again without a decision, the failed phase's finally never ran.
 * 4. outputs holding a secret came back from the journal as `***`.
 * 6. an in-flight item inside a sub-runbook must be decided again by every resume that finds it in flight.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/interpreter/events.js';
import { assertBuilt, eventually, findProcesses, journalOf, readJournalEvents, runCli, spawnCli } from '../helpers/cli.js';

let root: string;
beforeAll(() => {
  assertBuilt();
  root = mkdtempSync(join(tmpdir(), 'runbook-resume-inst-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Case {
  work: string;
  stateDir: string;
  env: NodeJS.ProcessEnv;
}

function setup(name: string, files: Record<string, string>): Case {
  const work = mkdtempSync(join(root, `${name}-`));
  for (const [f, text] of Object.entries(files)) writeFileSync(join(work, f), text);
  return { work, stateDir: join(work, 'state'), env: { WORK: work } };
}

/** Run `args` until `pred` matches an event and the process `sleep <sleepArg>` exists, then SIGKILL the interpreter. */
async function killAt(c: Case, args: string[], pred: (e: RunEvent) => boolean, sleepArg: string, sleeping = 1): Promise<string> {
  const p = spawnCli([...args, '--json', '--state-dir', c.stateDir], { env: c.env, timeoutMs: 30_000 });
  const first = await p.waitForEvent(() => true);
  await p.waitForEvent(pred, 15_000);
  expect(await eventually(() => findProcesses(`sleep ${sleepArg}`).length === sleeping, 5000)).toBe(true);
  p.child.kill('SIGKILL');
  const r = await p.done;
  expect(r.signal).toBe('SIGKILL');
  return first.run;
}

const resume = (c: Case, runId: string, ...flags: string[]) => runCli(['resume', runId, ...flags, '--json', '--state-dir', c.stateDir], { env: c.env });
const lines = (c: Case, f = 'log') => (existsSync(join(c.work, f)) ? readFileSync(join(c.work, f), 'utf8').trim().split('\n').filter(Boolean) : []);
const journal = (c: Case, runId: string) => readJournalEvents(journalOf(c.stateDir, runId));
const finishedOf = (events: RunEvent[], step: string) => events.filter((e) => e.type === 'step.finished' && e.step === step);

const CHILD = (sleepArg: string) => `runbook: child
params: { name: { type: string, required: true } }
phases:
  - id: c
    steps:
      - { id: s1, shell: { run: 'echo s1 \${{ params.name }} >> "$WORK/log"' } }
      - id: s2
        shell:
          run: |
            if [ \${{ params.name }} = b ] && [ ! -e "$WORK/fast" ]; then sleep ${sleepArg}; fi
            echo s2 \${{ params.name }} >> "$WORK/log"
            touch "$WORK"/done-\${{ params.name }}
`;

const PARENT = `runbook: parent
phases:
  - id: p
    steps:
      - id: each
        for_each: [a, b, c]
        concurrency: 1
        runbook: { file: child.yaml, params: { name: "\${{ item }}" } }
`;

describe('resume per instance (kill -9, real processes)', () => {
  it('1. for_each over a sub-runbook, killed during item b, resumes b and c (done-a done-b done-c, s1 b and s2 b once)', async () => {
    const c = setup('fe-sub', { 'parent.yaml': PARENT, 'child.yaml': CHILD('30.501') });
    const runId = await killAt(c, ['run', join(c.work, 'parent.yaml')], (e) => e.type === 'step.started' && e.step === 'each[1].s2', '30.501');
    expect(lines(c)).toEqual(['s1 a', 's2 a', 's1 b']);
    writeFileSync(join(c.work, 'fast'), '');
    const r = await resume(c, runId, '--rerun-inflight');
    expect(r.code, r.stderr).toBe(0);
    expect(findProcesses('sleep 30.501')).toEqual([]);
    expect(lines(c)).toEqual(['s1 a', 's2 a', 's1 b', 's2 b', 's1 c', 's2 c']);
    for (const n of ['a', 'b', 'c']) expect(existsSync(join(c.work, `done-${n}`))).toBe(true);
    const events = journal(c, runId);
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    expect(events.find((e) => e.type === 'run.resumed')).toMatchObject({ inflight: [{ step: 'each[1].s2', decision: 'rerun' }] });
    // Each instance finished once; the aggregate once, counting three items.
    for (const a of ['each[0]', 'each[1]', 'each[2]', 'each[0].s1', 'each[1].s1', 'each[1].s2', 'each[2].s2']) expect(finishedOf(events, a), a).toHaveLength(1);
    expect(finishedOf(events, 'each')).toMatchObject([{ status: 'succeeded', items: { succeeded: 3, failed: 0, timed_out: 0, skipped: 0, cancelled: 0 } }]);
  }, 60_000);

  it('2. a flat for_each (concurrency 2), killed and resumed with --rerun-inflight, never runs a finished item again', async () => {
    const c = setup('fe-flat', {
      'rb.yaml': `runbook: flat
phases:
  - id: p
    steps:
      - id: restart
        for_each: [1, 2, 3, 4, 5]
        concurrency: 2
        shell:
          run: |
            echo start \${{ item }} >> "$WORK/log"
            if [ \${{ item }} -ge 4 ] && [ ! -e "$WORK/fast" ]; then sleep 30.502; fi
            echo end \${{ item }} >> "$WORK/log"
`,
    });
    const runId = await killAt(c, ['run', join(c.work, 'rb.yaml')], (e) => e.type === 'step.started' && e.step === 'restart[4]', '30.502', 2);
    // Items 1–3 finished; items 4 and 5 were running (sleeping) when the interpreter died.
    writeFileSync(join(c.work, 'fast'), '');
    const before = journal(c, runId);
    const finishedBefore = before.filter((e) => e.type === 'step.finished').map((e) => (e as { step: string }).step);
    expect(finishedBefore).toEqual(expect.arrayContaining(['restart[0]', 'restart[1]', 'restart[2]']));
    const r = await resume(c, runId, '--rerun-inflight');
    expect(r.code, r.stderr).toBe(0);
    const ends = lines(c).filter((l) => l.startsWith('end'));
    // Every item ended exactly once.
    expect(ends.sort()).toEqual(['end 1', 'end 2', 'end 3', 'end 4', 'end 5']);
    const starts = lines(c).filter((l) => l.startsWith('start'));
    for (const i of [1, 2, 3]) expect(starts.filter((l) => l === `start ${i}`), `item ${i}`).toHaveLength(1);
    // The in-flight items ran again (--rerun-inflight), once each.
    for (const i of [4, 5]) expect(starts.filter((l) => l === `start ${i}`), `item ${i}`).toHaveLength(2);
    expect(journal(c, runId).find((e) => e.type === 'run.resumed')).toMatchObject({ inflight: [{ step: 'restart[3]', decision: 'rerun' }, { step: 'restart[4]', decision: 'rerun' }] });
    const events = journal(c, runId);
    expect(finishedOf(events, 'restart')).toMatchObject([{ status: 'succeeded', outputs: {}, items: { succeeded: 5 } }]);
    for (let i = 0; i < 5; i++) expect(finishedOf(events, `restart[${i}]`)).toMatchObject([{ status: 'succeeded', index: i, item: i + 1 }]);
  }, 60_000);

  it('3. a kill during a rollback: the in-flight rollback is decided (exit 2 without a flag), the failed phase finally still runs', async () => {
    const c = setup('rb-kill', {
      'rb.yaml': `runbook: rb-kill
phases:
  - id: p
    steps:
      - id: one
        shell: { run: 'echo one >> "$WORK/log"' }
        rollback:
          shell:
            run: |
              echo undo-one-start >> "$WORK/log"
              if [ ! -e "$WORK/fast" ]; then sleep 30.503; fi
              echo undo-one-end >> "$WORK/log"
      - id: two
        shell: { run: 'echo two >> "$WORK/log"' }
        rollback: { shell: { run: 'echo undo-two >> "$WORK/log"' } }
      - id: boom
        shell: { run: 'exit 3' }
    finally:
      - { id: cleanup, shell: { run: 'echo cleanup >> "$WORK/log"' } }
finally:
  - { id: bye, shell: { run: 'echo bye >> "$WORK/log"' } }
`,
    });
    const runId = await killAt(c, ['run', join(c.work, 'rb.yaml')], (e) => e.type === 'rollback.started' && e.step === 'one', '30.503');
    expect(lines(c)).toEqual(['one', 'two', 'undo-two', 'undo-one-start']);
    const noFlag = await resume(c, runId);
    expect(noFlag.code).toBe(2);
    expect(noFlag.stderr).toContain("the rollback of step 'one' was running when the process died and is not idempotent");
    expect(lines(c)).toEqual(['one', 'two', 'undo-two', 'undo-one-start']);
    writeFileSync(join(c.work, 'fast'), '');
    const r = await resume(c, runId, '--rerun-inflight');
    expect(r.code, r.stderr).toBe(1);
    expect(findProcesses('sleep 30.503')).toEqual([]);
    // undo-two is not run again; the in-flight rollback runs again; both finally sections run once.
    expect(lines(c)).toEqual(['one', 'two', 'undo-two', 'undo-one-start', 'undo-one-start', 'undo-one-end', 'cleanup', 'bye']);
    const events = journal(c, runId);
    expect(events.find((e) => e.type === 'run.resumed')).toMatchObject({ inflight: [{ step: 'one', decision: 'rerun', rollback: true }] });
    expect(events.filter((e) => e.type === 'rollback.finished')).toMatchObject([{ step: 'two', status: 'succeeded' }, { step: 'one', status: 'succeeded' }]);
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'rolled_back' });
  }, 60_000);

  it('3b. an idempotent rollback in flight runs again without a flag', async () => {
    const c = setup('rb-idem', {
      'rb.yaml': `runbook: rb-idem
phases:
  - id: p
    steps:
      - id: one
        shell: { run: 'echo one >> "$WORK/log"' }
        rollback:
          idempotent: true
          shell:
            run: |
              echo undo-start >> "$WORK/log"
              if [ ! -e "$WORK/fast" ]; then sleep 30.504; fi
              echo undo-end >> "$WORK/log"
      - id: boom
        shell: { run: 'exit 3' }
`,
    });
    const runId = await killAt(c, ['run', join(c.work, 'rb.yaml')], (e) => e.type === 'rollback.started', '30.504');
    writeFileSync(join(c.work, 'fast'), '');
    const r = await resume(c, runId);
    expect(r.code, r.stderr).toBe(1);
    expect(lines(c)).toEqual(['one', 'undo-start', 'undo-start', 'undo-end']);
    expect(journal(c, runId).at(-1)).toMatchObject({ type: 'run.finished', status: 'rolled_back' });
  }, 60_000);

  it('3c. a finally step in flight in a failed run is decided and runs (found by the property test)', async () => {
    const c = setup('fin-kill', {
      'rb.yaml': `runbook: fin-kill
phases:
  - id: p
    steps:
      - { id: boom, shell: { run: 'exit 3' } }
finally:
  - id: bye
    shell:
      run: |
        echo bye-start >> "$WORK/log"
        if [ ! -e "$WORK/fast" ]; then sleep 30.509; fi
        echo bye-end >> "$WORK/log"
`,
    });
    const runId = await killAt(c, ['run', join(c.work, 'rb.yaml')], (e) => e.type === 'step.started' && e.step === 'bye', '30.509');
    const noFlag = await resume(c, runId);
    expect(noFlag.code).toBe(2);
    expect(noFlag.stderr).toContain("step 'bye' was running when the process died");
    writeFileSync(join(c.work, 'fast'), '');
    const r = await resume(c, runId, '--rerun-inflight');
    expect(r.code, r.stderr).toBe(1);
    expect(lines(c)).toEqual(['bye-start', 'bye-start', 'bye-end']);
    expect(journal(c, runId).at(-1)).toMatchObject({ type: 'run.finished', status: 'failed' });
  }, 60_000);

  it('4. resume gives later steps the real value of a masked output, and the journal never holds the secret', async () => {
    const secret = 'pw-Zq81x';
    const c = setup('secret', {
      'rb.yaml': `runbook: secret-resume
secrets:
  pw: { env: DB_PW }
phases:
  - id: p
    steps:
      - id: a
        shell: { run: 'echo postgres://app:\${{ secrets.pw }}@db/x' }
        outputs: { url: "trim(result.stdout)" }
      - id: b
        shell:
          run: |
            if [ ! -e "$WORK/fast" ]; then sleep 30.505; fi
            echo \${{ steps.a.outputs.url }} > "$WORK/got"
      - id: check
        assert: "steps.a.outputs.url == 'postgres://app:' + secrets.pw + '@db/x'"
`,
    });
    c.env.DB_PW = secret;
    const runId = await killAt(c, ['run', join(c.work, 'rb.yaml')], (e) => e.type === 'step.started' && e.step === 'b', '30.505');
    writeFileSync(join(c.work, 'fast'), '');
    const r = await resume(c, runId, '--rerun-inflight');
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(c.work, 'got'), 'utf8').trim()).toBe(`postgres://app:${secret}@db/x`);
    const text = readFileSync(journalOf(c.stateDir, runId), 'utf8');
    expect(text).not.toContain(secret);
    const a = finishedOf(journal(c, runId), 'a')[0] as { outputs: Record<string, unknown>; secret_refs?: unknown };
    expect(a.outputs.url).toBe('postgres://app:***@db/x');
    expect(a.secret_refs).toEqual(expect.arrayContaining([{ path: ['outputs', 'url'], at: [[15, 'pw', 'raw']] }]));
  }, 60_000);

  it('6. a non-idempotent in-flight item inside a sub-runbook is decided again by each resume; nothing finished re-runs', async () => {
    const c = setup('twice', { 'parent.yaml': PARENT, 'child.yaml': CHILD('30.506') });
    const runId = await killAt(c, ['run', join(c.work, 'parent.yaml')], (e) => e.type === 'step.started' && e.step === 'each[1].s2', '30.506');
    // First resume reruns it and is killed again while it is in flight.
    await killAt(c, ['resume', runId, '--rerun-inflight'], (e) => e.type === 'step.started' && e.step === 'each[1].s2', '30.506');
    // Second resume: still in flight, so it must be asked again (no flag: exit 2, nothing run).
    const noFlag = await resume(c, runId);
    expect(noFlag.code).toBe(2);
    expect(noFlag.stderr).toContain("step 'each[1].s2' was running when the process died");
    writeFileSync(join(c.work, 'fast'), '');
    const r = await resume(c, runId, '--skip-inflight');
    expect(r.code, r.stderr).toBe(0);
    expect(findProcesses('sleep 30.506')).toEqual([]);
    expect(lines(c)).toEqual(['s1 a', 's2 a', 's1 b', 's1 c', 's2 c']);
    const events = journal(c, runId);
    expect(finishedOf(events, 'each[1].s2')).toMatchObject([{ status: 'skipped', skipped_inflight: true }]);
    expect(events.filter((e) => e.type === 'run.resumed')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'step.started' && e.step === 'each[1].s1')).toHaveLength(1);
  }, 90_000);
});

describe('resume and edits, mark done', () => {
  it('a changed step makes resume refuse (exit 2) until --accept-changes; --mark-done records an approval and counts as succeeded', async () => {
    const text = (extra: string) => `runbook: edits
phases:
  - id: p
    steps:
      - id: one
        shell: { run: 'echo one${extra} >> "$WORK/log"' }
      - id: hang
        shell:
          run: |
            if [ ! -e "$WORK/fast" ]; then sleep 30.507; fi
            echo hang >> "$WORK/log"
      - id: three
        shell: { run: 'echo three >> "$WORK/log"' }
`;
    const c = setup('edits', { 'rb.yaml': text('') });
    const runId = await killAt(c, ['run', join(c.work, 'rb.yaml')], (e) => e.type === 'step.started' && e.step === 'hang', '30.507');
    writeFileSync(join(c.work, 'rb.yaml'), text(' edited'));
    const refused = await resume(c, runId, '--rerun-inflight');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("the runbook changed since the run was started: 'one'");
    expect(refused.stderr).toContain('--accept-changes');
    const noReason = await resume(c, runId, '--mark-done', 'hang');
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--reason');
    const r = await resume(c, runId, '--accept-changes', '--mark-done', 'hang', '--reason', 'ran it by hand');
    expect(r.code, r.stderr).toBe(0);
    expect(lines(c)).toEqual(['one', 'three']);
    const events = journal(c, runId);
    expect(events.find((e) => e.type === 'run.resumed')).toMatchObject({ changed: ['one'] });
    expect(events.find((e) => e.type === 'approval')).toMatchObject({ step: 'hang', decision: 'marked_done', message: 'ran it by hand' });
    expect(finishedOf(events, 'hang')).toMatchObject([{ status: 'succeeded', marked_done: true }]);
  }, 60_000);
});

describe('the worked example of docs/dsl.md §6: resuming a rolling restart', () => {
  it('kill during web-2\'s restart; --mark-done it; web-1 untouched, web-2 not drained again, web-3 from its start', async () => {
    const c = setup('rolling', {
      'rolling-restart.yaml': `runbook: rolling-restart
phases:
  - id: restart
    steps:
      - id: restart-each
        for_each: [web-1, web-2, web-3]
        runbook: { file: restart-one.yaml, params: { host: "\${{ item }}" } }
`,
      'restart-one.yaml': `runbook: restart-one
params: { host: { type: string, required: true } }
phases:
  - id: check
    steps:
      - { id: drain, shell: { run: 'echo drain \${{ params.host }} >> "$WORK/log"' } }
      - id: restart
        shell:
          run: |
            if [ \${{ params.host }} = web-2 ] && [ ! -e "$WORK/fast" ]; then sleep 30.508; fi
            echo restart \${{ params.host }} >> "$WORK/log"
      - { id: healthy, idempotent: true, shell: { run: 'echo healthy \${{ params.host }} >> "$WORK/log"' } }
`,
    });
    const runId = await killAt(c, ['run', join(c.work, 'rolling-restart.yaml')], (e) => e.type === 'step.started' && e.step === 'restart-each[1].restart', '30.508');
    const refused = await resume(c, runId);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("step 'restart-each[1].restart' was running when the process died and is not idempotent");
    const r = await resume(c, runId, '--mark-done', 'restart-each[1].restart', '--reason', 'restarted web-2 by hand');
    expect(r.code, r.stderr).toBe(0);
    expect(findProcesses('sleep 30.508')).toEqual([]);
    expect(lines(c)).toEqual(['drain web-1', 'restart web-1', 'healthy web-1', 'drain web-2', 'healthy web-2', 'drain web-3', 'restart web-3', 'healthy web-3']);
    const events = journal(c, runId);
    expect(events.find((e) => e.type === 'approval')).toMatchObject({ step: 'restart-each[1].restart', decision: 'marked_done', message: 'restarted web-2 by hand' });
    expect(finishedOf(events, 'restart-each')).toMatchObject([{ status: 'succeeded', items: { succeeded: 3 } }]);
  }, 60_000);
});
