/**
 * Process tracking by the kernel (spec §12 "Processes"): the one module that knows where a step's
 * processes are. Each process a local step starts runs in its own cgroup v2,
 * `<v2 mount>/runbook/<run id>/<step address>@<n>`, entered by a wrapper before the program is
 * exec'd — so nothing it forks can leave it: not `setsid`, not a double fork, not `env -i`. Killing
 * the group is one write to `cgroup.kill`, and the folder outlives a dead interpreter, so `resume`
 * finds exactly the processes of the dead run (see `listRunGroups`).
 *
 * `detach: true` moves what is left at the step's end to `<v2 mount>/runbook/detached/<run>/…`,
 * which no clean-up and no resume touches.
 *
 * Where no writable cgroup v2 with `cgroup.kill` exists (no cgroup2 mount, not root and nothing
 * delegated, kernel < 5.14), `trackingRoot()` is undefined and the caller falls back to a process
 * group plus the `RUNBOOK_RUN_ID` marker in the environment, which `setsid` + `env -i` escape
 * (documented in docs/dsl.md). `RUNBOOK_PROCESS_TRACKING=group` forces that fallback (for tests).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { terminalLine } from '../../util/terminal-text.js';

export const TRACKING_ENV = 'RUNBOOK_PROCESS_TRACKING';

let cachedRoot: string | null | undefined;

/** The cgroup2 mount point from /proc/self/mountinfo (field 5 is the mount point, after ` - ` the type). */
export function cgroupV2Mount(mountinfo = readText('/proc/self/mountinfo')): string | undefined {
  for (const line of (mountinfo ?? '').split('\n')) {
    const [left, right] = line.split(' - ');
    if (right?.split(' ')[0] !== 'cgroup2') continue;
    // Mount points escape spaces and the like as octal (\040).
    return left.split(' ')[4]?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  }
  return undefined;
}

/** `<v2 mount>/runbook` when it can be created and its groups can be killed; undefined otherwise (fallback). */
export function trackingRoot(): string | undefined {
  if (cachedRoot !== undefined) return cachedRoot ?? undefined;
  cachedRoot = null;
  if (process.env[TRACKING_ENV] === 'group') return undefined;
  const mount = cgroupV2Mount();
  if (!mount) return undefined;
  const root = join(mount, 'runbook');
  try {
    mkdirSync(root, { recursive: true });
    // A probe group proves we may create groups here and that this kernel has cgroup.kill.
    const probe = join(root, `probe-${process.pid}`);
    mkdirSync(probe, { recursive: true });
    const ok = existsSync(join(probe, 'cgroup.kill'));
    rmdirSync(probe);
    if (ok) cachedRoot = root;
  } catch {
    // read-only, not permitted: fall back
  }
  return cachedRoot ?? undefined;
}

const enc = (s: string) => encodeURIComponent(s);
const runFolder = (root: string, runId: string) => join(root, 'runs', enc(runId));

/** One cgroup holding the processes of one spawned command. */
export class StepGroup {
  private constructor(
    readonly path: string,
    readonly step: string,
  ) {}

  /**
   * Create a fresh group for one process of `step` in run `runId` (a new `@n` each time). Async: a
   * cgroup mkdir waits for the kernel's cgroup mutex, which other cgroup users can hold for tens of
   * ms, and the event loop (concurrent steps, for_each items) must not wait with it.
   */
  static async create(root: string, runId: string, step: string): Promise<StepGroup> {
    const folder = runFolder(root, runId);
    for (let n = 1, tries = 0; ; n++) {
      const path = join(folder, `${enc(step)}@${n}`);
      try {
        await mkdir(path);
        return new StepGroup(path, step);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // ENOENT: the run folder does not exist yet.
        if (code === 'ENOENT' && tries++ < 5) {
          await mkdir(folder, { recursive: true });
          n--;
        } else if (code !== 'EEXIST') throw e;
      }
    }
  }

  static at(path: string, step: string): StepGroup {
    return new StepGroup(path, step);
  }

  /** The file a process writes its pid to in order to enter the group. */
  get procsFile(): string {
    return join(this.path, 'cgroup.procs');
  }

  /** Live members (zombies are not listed). */
  pids(): number[] {
    return parsePids(readText(this.procsFile));
  }

  populated(): boolean {
    const events = readText(join(this.path, 'cgroup.events'));
    // A group that is gone holds nothing.
    return events !== undefined && /^populated 1$/m.test(events);
  }

  /** Send `signal` to every member, again for members forked meanwhile. Returns the pids signalled. */
  signal(signal: NodeJS.Signals): number[] {
    const sent = new Set<number>();
    for (let round = 0; round < 5; round++) {
      const fresh = this.pids().filter((p) => !sent.has(p));
      if (!fresh.length) break;
      for (const pid of fresh) {
        sent.add(pid);
        try {
          process.kill(pid, signal);
        } catch {
          // exited meanwhile
        }
      }
    }
    return [...sent];
  }

  /** SIGKILL every member at once, atomically for the whole group (forks included). */
  kill(): void {
    try {
      writeFileSync(join(this.path, 'cgroup.kill'), '1');
    } catch {
      // the group is gone
    }
  }

  /** Wait until the group is empty, at most `ms`. True when it is. */
  async waitEmpty(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.populated()) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  /**
   * Move every member to a `detached` group of the run, where neither the run's clean-up nor a
   * resume looks. Returns the pids moved (a process forked during the move is moved in a later round).
   */
  detach(root: string, runId: string): number[] {
    const dest = join(root, 'detached', enc(runId), this.path.slice(this.path.lastIndexOf('/') + 1));
    mkdirSync(dest, { recursive: true });
    const moved = new Set<number>();
    for (let round = 0; round < 10; round++) {
      const left = this.pids();
      if (!left.length) break;
      for (const pid of left) {
        try {
          writeFileSync(join(dest, 'cgroup.procs'), String(pid));
          moved.add(pid);
        } catch {
          // exited meanwhile
        }
      }
    }
    if (!moved.size) removeGroup(dest);
    return [...moved].sort((a, b) => a - b);
  }

  /** Remove the (empty) folder; a populated group stays (a resume finds it). The run's folder goes at its end (`cleanUpRun`). */
  remove(): void {
    removeGroup(this.path);
  }

  /**
   * `remove()` off the event loop (the step's end must not wait for the cgroup mutex). A group whose
   * last members were just killed can still count as populated for a moment (EBUSY): tried again
   * until it is empty, for a bounded time; whatever stays is removed with the run (`cleanUpRun`).
   */
  removeLater(): void {
    const attempt = async (): Promise<void> => {
      for (let i = 0; i < 50; i++) {
        try {
          await rmdir(this.path);
          return;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EBUSY') return;
          await new Promise((r) => setTimeout(r, 20).unref());
        }
      }
    };
    void attempt();
  }
}

/** The groups a run left (for `resume` and the run's clean-up), with the step address of each. */
export function listRunGroups(root: string, runId: string): StepGroup[] {
  const folder = runFolder(root, runId);
  let names: string[];
  try {
    names = readdirSync(folder, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
  return names.map((name) => StepGroup.at(join(folder, name), decodeURIComponent(name.slice(0, name.lastIndexOf('@')))));
}

/** Remove a run's empty groups and its folder, and detached groups (of any run) whose services have ended. */
export function cleanUpRun(root: string, runId: string): void {
  for (const g of listRunGroups(root, runId)) if (!g.populated()) g.remove();
  removeGroup(runFolder(root, runId));
  const detached = join(root, 'detached');
  for (const run of readdirSafe(detached)) {
    for (const name of readdirSafe(join(detached, run))) {
      const g = StepGroup.at(join(detached, run, name), name);
      if (!g.populated()) removeGroup(g.path);
    }
    removeGroup(join(detached, run));
  }
}

function readdirSafe(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}

function removeGroup(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // still populated (or has children), or already gone
  }
}

function parsePids(text: string | undefined): number[] {
  if (!text) return [];
  return text.split('\n').filter((l) => l !== '').map(Number);
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The command line of a process, for messages ("pid 123 sleep 38"). */
export function commandOf(pid: number): string {
  return terminalLine((readText(`/proc/${pid}/cmdline`) ?? '').split('\0').filter(Boolean).join(' '));
}
