/**
 * Processes a dead interpreter left behind: the commands its steps were running survive a `kill -9`
 * of the interpreter. `runbook resume` finds the processes of its run and kills them before
 * anything runs again.
 *
 * Where the kernel tracks them (a cgroup v2 per command, src/transport/local/track.ts), the run's
 * cgroup folder lists exactly its processes, whatever they did to their environment or session
 * (`env -i`, `setsid`, a step's own `RUNBOOK_RUN_ID`); detached services (`shell.detach`) live
 * elsewhere and are never touched. Without it (the fallback), every step process carries
 * `RUNBOOK_RUN_ID` (and `RUNBOOK_STEP_ID`) in its environment and /proc is searched for it: `env -i`
 * escapes that, which docs/dsl.md says.
 *
 * Decision: an orphan is unsupervised — its output and outcome can no longer be journaled — so it is
 * killed, whatever the operator then decides for its step (rerun or skip).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { sleep } from './timers.js';
import { commandOf, listRunGroups, trackingRoot } from '../transport/local/track.js';

export const RUN_ID_ENV = 'RUNBOOK_RUN_ID';
export const STEP_ID_ENV = 'RUNBOOK_STEP_ID';

export interface Orphan {
  pid: number;
  pgid: number;
  step: string | undefined;
  command: string;
}

/** Live processes the dead interpreter of `runId` left running (not detached services, not us). */
export function findOrphans(runId: string): Orphan[] {
  const root = trackingRoot();
  if (root === undefined) return findMarked(runId);
  const out: Orphan[] = [];
  for (const g of listRunGroups(root, runId)) {
    for (const pid of g.pids()) {
      if (pid !== process.pid) out.push({ pid, pgid: pid, step: g.step, command: commandOf(pid) });
    }
  }
  return out;
}

/** SIGTERM the orphans, SIGKILL what is left after `graceMs`, remove the dead run's groups. Returns the orphans found. */
export async function killOrphans(runId: string, graceMs = 2000): Promise<Orphan[]> {
  const root = trackingRoot();
  if (root === undefined) return killMarked(runId, graceMs);
  const found = findOrphans(runId);
  const groups = listRunGroups(root, runId);
  for (const g of groups) g.signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  for (const g of groups) {
    if (!(await g.waitEmpty(Math.max(0, deadline - Date.now())))) g.kill();
  }
  for (const g of groups) {
    await g.waitEmpty(graceMs);
    g.remove();
  }
  return found;
}

/** Fallback: live processes (not us, not zombies) whose environment names this run. Linux /proc only; elsewhere []. */
function findMarked(runId: string): Orphan[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const needle = `\0${RUN_ID_ENV}=${runId}\0`;
  const out: Orphan[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const env = '\0' + readFileSync(`/proc/${name}/environ`, 'latin1');
      if (!env.includes(needle)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      const step = new RegExp(`\\0${STEP_ID_ENV}=([^\\0]*)\\0`).exec(env)?.[1];
      const command = readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ');
      out.push({ pid: Number(name), pgid: Number(fields[2]), step, command });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

/** Fallback: SIGTERM the marked processes' groups, SIGKILL what is left after `graceMs`. */
async function killMarked(runId: string, graceMs: number): Promise<Orphan[]> {
  const found = findMarked(runId);
  if (!found.length) return found;
  const signal = (sig: NodeJS.Signals) => {
    for (const o of findMarked(runId)) {
      try {
        // The group first (the step's whole tree); the pid too in case it left the group.
        process.kill(-o.pgid, sig);
      } catch {
        // group gone
      }
      try {
        process.kill(o.pid, sig);
      } catch {
        // gone
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && findMarked(runId).length) await sleep(50);
  if (findMarked(runId).length) signal('SIGKILL');
  return found;
}
