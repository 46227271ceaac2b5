/**
 * Processes a dead interpreter left behind. Shell steps run in their own process groups (so a
 * timeout can kill the whole group), which also means they survive a `kill -9` of the interpreter.
 * Every step process gets `RUNBOOK_RUN_ID` (and `RUNBOOK_STEP_ID`) in its environment, which its
 * children inherit; `runbook resume` finds the processes of its run through /proc and kills their
 * groups before anything runs again.
 *
 * Decision: an orphan is unsupervised — its output and outcome can no longer be journaled — so it is
 * killed, whatever the operator then decides for its step (rerun or skip). Matching on the run id in
 * the environment (not on recorded pids) cannot hit an unrelated process that reused a pid.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { sleep } from './timers.js';

export const RUN_ID_ENV = 'RUNBOOK_RUN_ID';
export const STEP_ID_ENV = 'RUNBOOK_STEP_ID';

export interface Orphan {
  pid: number;
  pgid: number;
  step: string | undefined;
  command: string;
}

/** Live processes (not us, not zombies) whose environment names this run. Linux /proc only; elsewhere []. */
export function findOrphans(runId: string): Orphan[] {
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

/** SIGTERM the orphans' process groups, SIGKILL what is left after `graceMs`. Returns the orphans found. */
export async function killOrphans(runId: string, graceMs = 2000): Promise<Orphan[]> {
  const found = findOrphans(runId);
  if (!found.length) return found;
  const signal = (sig: NodeJS.Signals) => {
    for (const o of findOrphans(runId)) {
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
  while (Date.now() < deadline && findOrphans(runId).length) await sleep(50);
  if (findOrphans(runId).length) signal('SIGKILL');
  return found;
}
