/**
 * Running the real `runbook` CLI (dist/src/cli.js) as a child process, for the demo and the drills,
 * and reading back what a run left in its state dir (journal, report).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this file holding package.json (works from src and dist). */
export function findRepoRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const REPO_ROOT = findRepoRoot();
/** The `runbook` command as installed (bin/runbook.cjs: the bundle through its code cache, docs/startup.md). */
export const CLI_JS = join(REPO_ROOT, 'bin', 'runbook.cjs');
const BUILT = join(REPO_ROOT, 'dist', 'src', 'cli.js');
export const RUNBOOKS_DIR = join(REPO_ROOT, 'runbooks');

export interface CliOptions {
  env?: Record<string, string>;
  /** 'inherit' shows the TUI on a terminal; 'pipe' (default) collects stdout and stderr. */
  stdio?: 'inherit' | 'pipe';
  /** Own process group (so a signal to it reaches only the CLI); default: true when piped. */
  detached?: boolean;
  /** Called with the child right after spawn (to forward signals). */
  onSpawn?: (child: ChildProcess) => void;
  cwd?: string;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Run `node bin/runbook.cjs <args>`; resolves when it exits (never rejects on a non-zero exit). */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} not found: run \`npm run build\` first`);
  const stdio = opts.stdio ?? 'pipe';
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_JS, ...args], {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, ...opts.env },
      stdio: stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'],
      detached: opts.detached ?? stdio === 'pipe',
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, durationMs: performance.now() - started }));
    opts.onSpawn?.(child);
  });
}

export interface RunFinished {
  type: 'run.finished';
  run: string;
  status: string;
  duration_ms: number;
  rto_ms?: number;
  rto_met?: boolean;
  measures?: Record<string, unknown>;
}

/** Run ids in `<stateDir>/runs`, oldest first (ids start with a UTC timestamp). */
export function listRunIds(stateDir: string): string[] {
  const runs = join(stateDir, 'runs');
  if (!existsSync(runs)) return [];
  return readdirSync(runs).sort();
}

/** The journal's events of one run (a torn last line is ignored, as resume does). */
export function readJournal(stateDir: string, runId: string): Record<string, unknown>[] {
  const text = readFileSync(join(stateDir, 'runs', runId, 'journal.jsonl'), 'utf8');
  const events: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {}
  }
  return events;
}

export function findRunFinished(events: Record<string, unknown>[]): RunFinished | undefined {
  return events.find((e) => e.type === 'run.finished') as RunFinished | undefined;
}

/** The one run id that appeared in the state dir since `before` was listed. */
export function newRunId(stateDir: string, before: string[]): string | undefined {
  const seen = new Set(before);
  const added = listRunIds(stateDir).filter((id) => !seen.has(id));
  return added[added.length - 1];
}

export interface RunbookRun extends CliResult {
  runId?: string;
  finished?: RunFinished;
  events: Record<string, unknown>[];
  reportPath?: string;
}

/**
 * `runbook run <runbooks/name.yaml> --state-dir … --set k=v …` plus `extra` flags; the run id, its
 * journal and its run.finished event are read back from the state dir.
 */
export async function runRunbook(
  name: string,
  o: { stateDir: string; params?: Record<string, string | number | boolean>; extra?: string[] } & CliOptions,
): Promise<RunbookRun> {
  const file = name.includes('/') ? name : join(RUNBOOKS_DIR, `${name}.yaml`);
  const sets = Object.entries(o.params ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const before = listRunIds(o.stateDir);
  const res = await runCli(['run', file, '--state-dir', o.stateDir, ...sets, ...(o.extra ?? [])], o);
  const runId = newRunId(o.stateDir, before);
  const events = runId ? readJournal(o.stateDir, runId) : [];
  const reportPath = runId ? join(o.stateDir, 'runs', runId, 'report.md') : undefined;
  return { ...res, runId, events, finished: findRunFinished(events), reportPath };
}
