/**
 * A history made by real runs: small runbooks (a backup, a restore test, a recovery) run through the
 * real CLI into one state dir, with failures, an RTO and an RPO missed, drills and incidents, and a
 * dry run that must not count. Shared by the stats, drills and dashboard tests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { RunFinishedEvent, RunStartedEvent } from '../../src/interpreter/events.js';
import { runCli } from '../helpers/cli.js';

const PARAMS = `params:
  fail: { type: boolean, default: false }
  secs: { type: number, default: 0 }
  rpo: { type: integer, default: 0 }
`;
const BODY = `phases:
  - id: work
    steps:
      - id: work
        shell: { run: "sleep \${{ params.secs }}" }
      - id: check
        assert: "!params.fail"
measure:
  rpo: "\${{ params.rpo }}"
`;

export const RUNBOOKS = {
  bk: `runbook: bk\nkind: backup\nobjectives: { rto: 30s }\n${PARAMS}${BODY}`,
  rt: `runbook: rt\nkind: restore-test\nobjectives: { rto: 30s }\n${PARAMS}${BODY}`,
  rec: `runbook: rec\nobjectives: { rto: 1s, rpo: 1m }\n${PARAMS}${BODY}`,
};

export interface HistoryRun {
  runbook: keyof typeof RUNBOOKS;
  fail?: boolean;
  secs?: number;
  rpo?: number;
  drill?: boolean;
  dryRun?: boolean;
}

/** In order: runs 1-4 backups (one fails), 5-6 restore tests (one fails), 7-10 recoveries, a dry run. */
export const HISTORY: HistoryRun[] = [
  { runbook: 'bk' },
  { runbook: 'bk' },
  { runbook: 'bk', fail: true },
  { runbook: 'bk' },
  { runbook: 'rt' },
  { runbook: 'rt', fail: true },
  { runbook: 'rec', drill: true, rpo: 1000 },
  { runbook: 'rec', drill: true, fail: true, rpo: 5000 },
  { runbook: 'rec', secs: 0.2, rpo: 2000 },
  // Succeeds, but misses the 1s RTO and the 1m RPO.
  { runbook: 'rec', secs: 1.2, rpo: 90_000 },
  { runbook: 'rec', dryRun: true, rpo: 1 },
];

export interface MadeRun extends HistoryRun {
  started: RunStartedEvent;
  finished: RunFinishedEvent;
}

export async function makeHistory(dir: string, runs: HistoryRun[] = HISTORY): Promise<{ stateDir: string; runs: MadeRun[] }> {
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir, { recursive: true });
  for (const [name, text] of Object.entries(RUNBOOKS)) writeFileSync(join(dir, `${name}.yaml`), text);
  const made: MadeRun[] = [];
  for (const r of runs) {
    const args = ['run', join(dir, `${r.runbook}.yaml`), '--json', '--state-dir', stateDir, '--set', `fail=${!!r.fail}`, '--set', `secs=${r.secs ?? 0}`, '--set', `rpo=${r.rpo ?? 0}`];
    if (r.drill) args.push('--drill');
    if (r.dryRun) args.push('--dry-run');
    const res = await runCli(args);
    expect(res.code, res.stderr).toBe(r.fail && !r.dryRun ? 1 : 0);
    const started = res.events.find((e): e is RunStartedEvent => e.type === 'run.started')!;
    const finished = res.events.find((e): e is RunFinishedEvent => e.type === 'run.finished')!;
    made.push({ ...r, started, finished });
  }
  return { stateDir, runs: made };
}
