/**
 * Shared by the docker drills: run a runbook of runbooks/ through the built CLI against a docker
 * sandbox, and read back what happened (events, journal, report, containers, HTTP).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { DockerSandbox, SandboxContainer } from '../../examples/sandbox/docker-sandbox.js';
import type { RunEvent } from '../../src/interpreter/events.js';
import { REPO, runCli, type CliResult } from '../helpers/cli.js';

export const runbookPath = (name: string) => join(REPO, 'runbooks', `${name}.yaml`);

export interface Drill extends CliResult {
  runId: string;
  finished: Extract<RunEvent, { type: 'run.finished' }>;
  /** step id → its step.finished event. */
  steps: Map<string, Extract<RunEvent, { type: 'step.finished' }>>;
  /** step ids whose rollback ran, in order, with their status. */
  rollbacks: Array<[string, string]>;
}

export async function makeStateDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'runbook-drill-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** `runbook run <runbook> --json --state-dir …` with the sandbox's env. */
export async function runDrill(runbook: string, sandbox: DockerSandbox, stateDir: string, sets: string[] = []): Promise<Drill> {
  const r = await runCli(['run', runbookPath(runbook), '--json', '--state-dir', stateDir, ...sets.flatMap((s) => ['--set', s])], {
    env: sandbox.env,
    timeoutMs: 150_000,
  });
  const started = r.events.find((e) => e.type === 'run.started');
  const finished = r.events.find((e): e is Drill['finished'] => e.type === 'run.finished');
  if (!started || !finished) throw new Error(`no run.started/run.finished (exit ${r.code}); stderr: ${r.stderr}\nstdout: ${r.stdout.slice(-3000)}`);
  const steps = new Map<string, Extract<RunEvent, { type: 'step.finished' }>>();
  for (const e of r.events) if (e.type === 'step.finished') steps.set(e.step, e);
  const rollbacks = r.events
    .filter((e): e is Extract<RunEvent, { type: 'rollback.finished' }> => e.type === 'rollback.finished')
    .map((e) => [e.step, e.status] as [string, string]);
  return { ...r, runId: started.run, finished, steps, rollbacks };
}

/** `runbook plan --preflight` against the sandbox passes, and reached the engine through its API. */
export async function expectPreflight(runbook: string, sandbox: DockerSandbox, stateDir: string, sets: string[] = []): Promise<void> {
  const r = await runCli(['plan', runbookPath(runbook), '--preflight', '--state-dir', stateDir, ...sets.flatMap((s) => ['--set', s])], { env: sandbox.env });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toMatch(/✓ connection engine \(docker\) .*Podman Engine/);
}

/** The markdown report of a run. */
export async function reportOf(runId: string, stateDir: string): Promise<string> {
  const r = await runCli(['report', runId, '--state-dir', stateDir]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

/** name → [image without the localhost/ prefix, state] of the project's containers. */
export async function containerStates(sandbox: DockerSandbox): Promise<Record<string, [string, string]>> {
  const now: SandboxContainer[] = await sandbox.containersNow();
  return Object.fromEntries(now.map((c) => [c.name, [c.image.replace(/^localhost\//, ''), normalizeState(c.state)]]));
}

/** Podman says `configured` for a created container and `exited`/`stopped` for a stopped one. */
function normalizeState(state: string): string {
  return state === 'configured' ? 'created' : state === 'stopped' ? 'exited' : state;
}

export async function health(sandbox: DockerSandbox): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${sandbox.env.APP_URL}/actuator/health`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, json: await res.json() };
}

/** A readable failure message: the run's errors and the tail of its output. */
export function explain(d: Drill): string {
  const errors = [...d.steps.values()]
    .filter((s) => s.error)
    .map((s) => `${s.step}: ${s.status}: ${s.error}${s.result === undefined ? '' : `\n  result: ${JSON.stringify(s.result).slice(0, 1000)}`}`);
  return `exit ${d.code}, status ${d.finished.status}\n${errors.join('\n')}\nstderr: ${d.stderr.slice(-2000)}`;
}

/** What every docker drill file shares: a state dir for the file, and a sandbox stopped after each test. */
export function useDrillLifecycle(): { state: { dir: string; remove(): Promise<void> }; sandbox: DockerSandbox | undefined } {
  const ctx = {} as { state: { dir: string; remove(): Promise<void> }; sandbox: DockerSandbox | undefined };
  beforeAll(async () => {
    ctx.state = await makeStateDir();
  });
  afterEach(async () => {
    await ctx.sandbox?.stop();
    ctx.sandbox = undefined;
  });
  afterAll(async () => {
    await ctx.state?.remove();
  });
  return ctx;
}

/** The runbook validates, and plans with exactly these phases and budgets. */
export async function expectValidatesAndPlans(name: string, stateDir: string, phases: [string, number][], sets: string[] = []): Promise<void> {
  const valid = await runCli(['validate', runbookPath(name)]);
  expect(valid.code, valid.stdout + valid.stderr).toBe(0);
  const plan = await runCli(['plan', runbookPath(name), '--json', ...sets, '--state-dir', stateDir]);
  expect(plan.code, plan.stderr).toBe(0);
  const doc = JSON.parse(plan.stdout) as { phases: Array<{ id: string; budget_ms: number }> };
  expect(doc.phases.map((p) => [p.id, p.budget_ms])).toEqual(phases);
}
