/**
 * A command's process tree, one shape for both ways of tracking it: the cgroup (`./track.ts`), or,
 * where no writable cgroup v2 exists, the process group the command leads — the weaker fallback:
 * a process that calls `setsid` leaves the group, and is then found only by the run's marker in
 * its environment (`src/interpreter/orphans.ts`), which `env -i` removes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { commandOf, type StepGroup } from './track.js';

export interface Tree {
  /** Whether any member still runs. */
  alive(): boolean;
  /** The members with their command lines (for messages). */
  describe(): { pid: number; command: string }[];
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL every member. */
  kill(): void;
  /** Wait until no member runs, at most `ms`; true when none does. */
  waitEmpty(ms: number): Promise<boolean>;
  /** Leave the members running on purpose (`detach: true`); returns their pids. */
  detach(): number[];
  /** Forget the tree (remove its empty cgroup). */
  release(): void;
}

export function cgroupTree(group: StepGroup, root: string, runId: string): Tree {
  return {
    alive: () => group.populated(),
    describe: () => group.pids().map((pid) => ({ pid, command: commandOf(pid) })),
    signal: (sig) => void group.signal(sig),
    kill: () => group.kill(),
    waitEmpty: (ms) => group.waitEmpty(ms),
    detach: () => group.detach(root, runId),
    release: () => group.removeLater(),
  };
}

export function processGroupTree(pgid: number): Tree {
  const members = () => {
    try {
      // Fast path: no process (not even a zombie) is left in the group.
      process.kill(-pgid, 0);
    } catch {
      return [];
    }
    return groupMembers(pgid);
  };
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pgid, sig);
    } catch {
      // the group is gone
    }
  };
  return {
    alive: () => members().length > 0,
    describe: () => members().map((pid) => ({ pid, command: commandOf(pid) })),
    signal: send,
    kill: () => send('SIGKILL'),
    async waitEmpty(ms) {
      const deadline = Date.now() + ms;
      while (members().length) {
        if (Date.now() >= deadline) return false;
        await new Promise((r) => setTimeout(r, 20));
      }
      return true;
    },
    detach: () => members(),
    release: () => {},
  };
}

/** Live (non-zombie) processes whose process group is `pgid`, from /proc. */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
    if (name.charCodeAt(0) > 57) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      // pid (comm) state ppid pgrp …; comm may contain spaces, so split after the last ')'.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
