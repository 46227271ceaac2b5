/** Is the process that last ran a run still alive? From its run.started / run.resumed events. */
import { hostname } from 'node:os';
import { runnerHost } from './host.js';
import type { RunEvent } from '../interpreter/events.js';

/** The pid and host of the run's latest runner (run.resumed after run.started), if journaled. */
export function lastRunner(events: RunEvent[]): { pid: number; host: string | undefined } | undefined {
  let found: { pid: number; host: string | undefined } | undefined;
  for (const e of events) {
    if (e.type === 'run.started' && typeof e.pid === 'number') found = { pid: e.pid, host: e.host };
    else if (e.type === 'run.resumed' && typeof e.pid === 'number') found = { pid: e.pid, host: e.host ?? found?.host };
  }
  return found;
}

/** Alive: a live pid on this host. Another host cannot be checked from here: `undefined`. */
export function processAlive(pid: number, host: string | undefined): boolean | undefined {
  // run.started says os.hostname(), a lease and run.resumed say $HOSTNAME when set: either is us.
  if (host !== undefined && host !== hostname() && host !== runnerHost()) return undefined;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, owned by another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
