/**
 * Spawn the `runbook` command (bin/runbook.cjs, which runs the bundle that `npm run build` makes) as a real process and collect
 * what it did: exit code, signal, stdout, stderr, and the NDJSON events of `--json` as they arrive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunEvent } from '../../src/interpreter/events.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The built CLI; RUNBOOK_TEST_CLI points elsewhere (a private build, safe from others' rebuilds of dist/). */
export const CLI = process.env.RUNBOOK_TEST_CLI ?? join(REPO, 'bin/runbook.cjs');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The `--json` events (lines of stdout that parse as events). */
  events: RunEvent[];
  /** Wall time of the process, ms. */
  wallMs: number;
}

export interface CliProcess {
  child: ChildProcess;
  pid: number;
  /** Events seen so far (grows while the process runs). */
  events: RunEvent[];
  /** Resolves with the first event (already seen or future) matching `pred`. */
  waitForEvent(pred: (e: RunEvent) => boolean, timeoutMs?: number): Promise<RunEvent>;
  /** Resolves when the process has exited and its pipes are closed. */
  done: Promise<CliResult>;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the process (SIGKILL) after this long; the test then fails on the exit code. */
  timeoutMs?: number;
  /**
   * A command the CLI runs under, e.g. `['unshare', '-m', 'sh', '-c', 'mount … && exec "$0" "$@"']`:
   * it gets node and the CLI's arguments and must exec them (so `pid` stays the CLI's).
   */
  wrap?: string[];
}

/** Fail fast with a clear message when the build is missing. */
export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first with \`npx tsc -p .\``);
}

export function spawnCli(args: string[], opts: CliOptions = {}): CliProcess {
  assertBuilt();
  const started = Date.now();
  const [command, ...prefix] = [...(opts.wrap ?? []), process.execPath];
  const child = spawn(command, [...prefix, CLI, ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: RunEvent[] = [];
  const waiters: { pred: (e: RunEvent) => boolean; resolve: (e: RunEvent) => void }[] = [];
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    stdout += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const e = parseEvent(line);
      if (!e) continue;
      events.push(e);
      for (const w of [...waiters]) {
        if (w.pred(e)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    }
  });
  child.stderr!.on('data', (chunk: string) => void (stderr += chunk));
  const killer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
  const done = new Promise<CliResult>((resolveDone, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (killer) clearTimeout(killer);
      const e = parseEvent(partial);
      if (e) events.push(e);
      resolveDone({ code, signal, stdout, stderr, events, wallMs: Date.now() - started });
    });
  });
  return {
    child,
    pid: child.pid!,
    events,
    done,
    waitForEvent(pred, timeoutMs = 10_000) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error(`no matching event within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
        const w = { pred, resolve: (e: RunEvent) => (clearTimeout(t), res(e)) };
        waiters.push(w);
        void done.then(() => {
          if (waiters.includes(w)) {
            clearTimeout(t);
            rej(new Error(`the process exited without a matching event; stderr: ${stderr}`));
          }
        });
      });
    },
  };
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return spawnCli(args, { timeoutMs: 60_000, ...opts }).done;
}

export function parseEvent(line: string): RunEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(line);
    return v && typeof v.type === 'string' ? (v as RunEvent) : undefined;
  } catch {
    return undefined;
  }
}

/** Every event of a journal file (a torn last line is skipped, as resume does). */
export function readJournalEvents(file: string): RunEvent[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map(parseEvent)
    .filter((e): e is RunEvent => e !== undefined);
}

export function journalOf(stateDir: string, runId: string): string {
  return join(stateDir, 'runs', runId, 'journal.jsonl');
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Pids of live processes whose command line (argv joined by spaces) equals `cmdline`. Zombies are not counted. */
export function findProcesses(cmdline: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      if (argv !== cmdline) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (state !== 'Z') out.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** Poll until `check` holds or `timeoutMs` passes; returns the last value of `check`. */
export async function eventually(check: () => boolean, timeoutMs = 3000, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Milliseconds since the epoch of an event's `ts`. */
export const tsOf = (e: RunEvent): number => Date.parse(e.ts);

/**
 * Run an ES-module script with `node --input-type=module -e` (so the node options a process may carry
 * are there too: its threads must not take them), killed after `timeoutMs`, with `nodeArgs` before
 * the script. The exit code, or the signal that ended it.
 */
export async function runModuleScript(script: string, timeoutMs = 20_000, nodeArgs: string[] = []): Promise<{ code: number | string | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...nodeArgs, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | string | null>((resolve) => child.on('exit', (c, sig) => resolve(c ?? sig)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}
