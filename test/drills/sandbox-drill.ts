/**
 * Shared by the drills: whether they can run here (PostgreSQL binaries, a built CLI), a sandbox per
 * describe block, running a scenario's runbook through the real CLI, and reading its report.
 */
import { existsSync, mkdirSync, watch } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { CLI_JS, runCli, runRunbook, type RunbookRun } from '../../examples/sandbox/demo-cli.js';
import { findScenario, type DemoContext, type Params } from '../../examples/sandbox/demo-scenarios.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../examples/sandbox/sandbox.js';
import { formatDuration } from '../../src/report/format.js';
import { postgresUnavailableReason } from '../helpers/postgres.js';

/** Why the drills cannot run here (printed), or undefined. In CI a missing piece throws. */
export function drillUnavailableReason(): string | undefined {
  const pg = postgresUnavailableReason();
  if (pg) return pg;
  if (!existsSync(CLI_JS)) {
    const reason = `${CLI_JS} not built (npm run build)`;
    if (process.env.CI === 'true') throw new Error(reason);
    console.warn(`skipping drills: ${reason}`);
    return reason;
  }
  return undefined;
}

/** One sandbox for a describe block; `ctx()` inside tests. */
export function useSandbox(opts: SandboxOptions): { ctx(): DemoContext } {
  let sb: Sandbox | undefined;
  beforeAll(async () => {
    sb = await startSandbox(opts);
  }, 60_000);
  afterAll(async () => {
    await sb?.stop();
  }, 30_000);
  return {
    ctx() {
      if (!sb) throw new Error('sandbox not started');
      return { sb, stateDir: join(sb.dir, 'state'), say: () => {} };
    },
  };
}

/** The runbook of a demo scenario, non-interactive, NDJSON on stdout. */
export function drill(ctx: DemoContext, runbook: string, params: Params): Promise<RunbookRun> {
  return runRunbook(runbook, { stateDir: ctx.stateDir, env: ctx.sb.env, params, extra: ['--json', '--yes'] });
}

export function scenarioOf(name: string) {
  const s = findScenario(name);
  if (!s) throw new Error(`no scenario ${name}`);
  return s;
}

/** `runbook report <id> --format <f>` through the CLI. */
export async function report(ctx: DemoContext, runId: string, format: 'md' | 'json' = 'md'): Promise<string> {
  const res = await runCli(['report', runId, '--state-dir', ctx.stateDir, '--format', format]);
  expect(res.code, res.stderr).toBe(0);
  return res.stdout;
}

/**
 * The run met its RTO (journal) and the report says so: the summary's RTO row shows the achieved
 * time with ✅, and the JSON report carries objective, achieved and met as in the journal.
 */
export async function expectRtoMet(ctx: DemoContext, run: RunbookRun, objectiveMs: number): Promise<void> {
  expect(run.finished).toMatchObject({ rto_met: true });
  expect(run.finished!.duration_ms).toBeLessThanOrEqual(objectiveMs);
  const md = await report(ctx, run.runId!);
  expect(md).toContain(`| RTO | ✅ ${formatDuration(run.finished!.duration_ms)} (objective `);
  const json = JSON.parse(await report(ctx, run.runId!, 'json')) as { rto: { objective_ms: number; achieved_ms: number; met: boolean } };
  expect(json.rto).toEqual({ objective_ms: objectiveMs, achieved_ms: run.finished!.duration_ms, met: true });
}


/**
 * Every name that appears in `dir` while it is watched (inotify through fs.watch): what a run wrote
 * there, even if it removed it again before the end. The folder is created first.
 */
export function watchNames(dir: string): { names: Set<string>; close(): void } {
  mkdirSync(dir, { recursive: true });
  const names = new Set<string>();
  const watcher = watch(dir, (_event, name) => {
    if (name) names.add(String(name));
  });
  return { names, close: () => watcher.close() };
}
