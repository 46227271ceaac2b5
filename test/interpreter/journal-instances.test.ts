/**
 * Golden journal of instances (spec §8): the addresses and fields a real run journals for a for_each
 * over a sub-runbook, a for_each nested inside the items of that sub-runbook, and the rollback of
 * items — in reverse order of instance start, each with its `index` and `item`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/interpreter/events.js';
import { assertBuilt, journalOf, readJournalEvents, runCli } from '../helpers/cli.js';

let work: string;
beforeAll(() => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), 'runbook-journal-inst-'));
  writeFileSync(
    join(work, 'outer.yaml'),
    `runbook: outer
phases:
  - id: p
    steps:
      - id: each
        for_each: [a, b]
        runbook: { file: mid.yaml, params: { name: "\${{ item }}" } }
      - id: boom
        assert: "false"
`,
  );
  writeFileSync(
    join(work, 'mid.yaml'),
    `runbook: mid
params: { name: { type: string, required: true } }
phases:
  - id: c
    steps:
      - id: s1
        log: "s1 \${{ params.name }}"
        rollback: { log: "undo s1 \${{ params.name }}" }
      - id: inner
        for_each: [1, 2]
        log: "inner \${{ params.name }} \${{ item }}"
        rollback: { log: "undo inner \${{ params.name }} \${{ item }} (\${{ self.status }})" }
`,
  );
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const key = (e: RunEvent) => `${e.type} ${(e as { step?: string }).step ?? (e as { phase?: string }).phase ?? ''}`.trim();

function itemEvents(i: number): string[] {
  const it = `each[${i}]`;
  return [
    `step.started ${it}`,
    `phase.started ${it}/c`,
    `step.started ${it}.s1`,
    `step.finished ${it}.s1`,
    `step.started ${it}.inner[0]`,
    `step.finished ${it}.inner[0]`,
    `step.started ${it}.inner[1]`,
    `step.finished ${it}.inner[1]`,
    `step.finished ${it}.inner`,
    `phase.finished ${it}/c`,
    `step.finished ${it}`,
  ];
}

describe('journal of instances (golden)', () => {
  it('a for_each over a sub-runbook, a nested item, and the rollback of items', async () => {
    const stateDir = join(work, 'state');
    const r = await runCli(['run', join(work, 'outer.yaml'), '--json', '--state-dir', stateDir]);
    expect(r.code, r.stderr).toBe(1);
    const events = readJournalEvents(journalOf(stateDir, r.events[0].run));
    const rollbackOrder = ['each[1].inner[1]', 'each[1].inner[0]', 'each[1].s1', 'each[0].inner[1]', 'each[0].inner[0]', 'each[0].s1'];
    expect(events.filter((e) => e.type !== 'log').map(key)).toEqual([
      'run.started',
      'phase.started p',
      ...itemEvents(0),
      ...itemEvents(1),
      'step.finished each',
      'step.started boom',
      'step.finished boom',
      'phase.finished p',
      ...rollbackOrder.flatMap((a) => [`rollback.started ${a}`, `rollback.finished ${a}`]),
      'run.finished',
    ]);
    const find = (type: string, step: string) => events.find((e) => e.type === type && (e as { step?: string }).step === step);
    // The item of the for_each step: its index and (masked) item on every event of its own.
    expect(find('step.started', 'each[1]')).toMatchObject({ phase: 'p', index: 1, item: 'b', step_type: 'runbook', attempt: 1 });
    expect(find('step.finished', 'each[1]')).toMatchObject({ phase: 'p', index: 1, item: 'b', status: 'succeeded' });
    // A step of the sub-runbook an item runs: the item's address, the child's phase under it, one level deeper.
    expect(find('step.started', 'each[1].s1')).toMatchObject({ phase: 'each[1]/c', depth: 1 });
    expect(find('step.started', 'each[1].s1')).not.toHaveProperty('index');
    expect(find('log', 'each[1].s1')).toMatchObject({ text: 's1 b' });
    // An item of a for_each inside that sub-runbook.
    expect(find('step.started', 'each[1].inner[0]')).toMatchObject({ phase: 'each[1]/c', index: 0, item: 1, depth: 1 });
    expect(find('log', 'each[1].inner[1]')).toMatchObject({ index: 1, item: 2, text: 'inner b 2' });
    expect(find('step.finished', 'each[1].inner')).toMatchObject({
      phase: 'each[1]/c',
      status: 'succeeded',
      items: { succeeded: 2, failed: 0, timed_out: 0, skipped: 0, cancelled: 0 },
      depth: 1,
    });
    expect(find('step.finished', 'each[1].inner')).not.toHaveProperty('index');
    // The aggregate: one step.finished with the counts, no step.started of its own.
    expect(find('step.finished', 'each')).toMatchObject({ phase: 'p', status: 'succeeded', items: { succeeded: 2, failed: 0, timed_out: 0, skipped: 0, cancelled: 0 } });
    expect(find('step.started', 'each')).toBeUndefined();
    // Rollback of an item: its own events with index and item; `self` is the item instance.
    expect(find('rollback.started', 'each[0].inner[1]')).toMatchObject({ index: 1, item: 2 });
    expect(find('rollback.finished', 'each[0].inner[1]')).toMatchObject({ index: 1, item: 2, status: 'succeeded' });
    expect(find('log', 'each[0].inner[1]') && events.filter((e) => e.type === 'log' && e.step === 'each[0].inner[1]').map((e) => (e as { text: string }).text)).toEqual([
      'inner a 2',
      'undo inner a 2 (succeeded)',
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'rolled_back' });
    // Every step.started's step is an address the outline's steps or a sub-runbook's produce.
    for (const e of events) if (e.type === 'step.started') expect(e.step).toMatch(/^(each\[\d\](\.(s1|inner\[\d\]))?|boom)$/);
  }, 30_000);
});
