/**
 * `runbook run --no-tui` as a real process with piped stdout: colours only when FORCE_COLOR says so,
 * and a health wait that keeps failing the same way prints a collapsed line, while the journal keeps
 * every poll. Needs the built CLI (`npx tsc -p .`).
 */
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalOf, readJournalEvents, runCli } from '../helpers/cli.js';

let dir: string;
let port: number;

/** A loopback port nobody listens on: taken from the kernel, then let go. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const p = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return p;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'runbook-plain-cli-'));
  port = await closedPort();
  writeFileSync(
    join(dir, 'colours.yaml'),
    `runbook: colours
phases:
  - id: only
    steps:
      - id: hello
        shell: { run: "echo hello" }
`,
  );
  writeFileSync(
    join(dir, 'health.yaml'),
    `runbook: health-wait
connections:
  app: { http: { base_url: "http://127.0.0.1:${port}" } }
phases:
  - id: wait
    steps:
      - id: healthy
        http: { connection: app, url: /health }
        timeout: 5s
        until: { condition: "result.status == 200", every: 50ms, within: 1500ms }
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runbook run --no-tui, piped', () => {
  it('has no colours by default, and colours with FORCE_COLOR (NO_COLOR alone keeps them off)', async () => {
    const args = ['run', join(dir, 'colours.yaml'), '--no-tui', '--state-dir', join(dir, 'state')];
    const plain = await runCli(args, { env: { NO_COLOR: undefined, FORCE_COLOR: undefined } });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('✓ hello succeeded');
    expect(plain.stdout).not.toContain('\u001b[');
    const forced = await runCli(args, { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/\u001b\[32m✓\u001b\[0m hello \u001b\[32msucceeded\u001b\[0m/);
    const off = await runCli(args, { env: { NO_COLOR: '1', FORCE_COLOR: undefined } });
    expect(off.stdout).not.toContain('\u001b[');
  }, 30_000);

  it('honours the color setting: --color/--no-color > RUNBOOK_COLOR > runbook.config.yaml > NO_COLOR/FORCE_COLOR', async () => {
    const coloured = (r: { stdout: string }) => r.stdout.includes('\u001b[');
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    const run = (extra: string[], env: Record<string, string | undefined> = {}) =>
      runCli(['run', join(dir, 'colours.yaml'), '--no-tui', '--state-dir', join(dir, 'state'), ...extra], { cwd, env: { NO_COLOR: undefined, FORCE_COLOR: undefined, RUNBOOK_COLOR: undefined, XDG_CONFIG_HOME: join(cwd, 'none'), ...env } });
    expect(coloured(await run([]))).toBe(false);
    expect(coloured(await run(['--color']))).toBe(true);
    writeFileSync(join(cwd, 'runbook.config.yaml'), 'color: always\n');
    expect(coloured(await run([]))).toBe(true);
    // A setting the user made overrides NO_COLOR (no-color.org); the environment overrides the file,
    // a flag overrides both.
    expect(coloured(await run([], { NO_COLOR: '1' }))).toBe(true);
    expect(coloured(await run([], { RUNBOOK_COLOR: 'never' }))).toBe(false);
    expect(coloured(await run(['--color'], { RUNBOOK_COLOR: 'never' }))).toBe(true);
    writeFileSync(join(cwd, 'runbook.config.yaml'), 'color: never\n');
    expect(coloured(await run([], { FORCE_COLOR: '1' }))).toBe(false);
    expect(coloured(await run(['--no-color'], { RUNBOOK_COLOR: 'always' }))).toBe(false);
    writeFileSync(join(cwd, 'runbook.config.yaml'), 'color: auto\n');
    expect(coloured(await run([], { FORCE_COLOR: '1' }))).toBe(true);
    expect(coloured(await run(['--no-color'], { FORCE_COLOR: '1' }))).toBe(false);
    const bad = await run([], { RUNBOOK_COLOR: 'sometimes' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("runbook: RUNBOOK_COLOR: expected one of auto, always, never, got \"sometimes\"\n");
  }, 60_000);

  it('collapses identical poll errors into one line; the journal keeps every poll', async () => {
    const r = await runCli(['run', join(dir, 'health.yaml'), '--no-tui', '--state-dir', join(dir, 'state')]);
    expect(r.code).toBe(1);
    const polls = r.stdout.split('\n').filter((l) => l.includes('[healthy] poll'));
    expect(polls).toHaveLength(2);
    expect(polls[0]).toMatch(/\[healthy\] poll 1: .*ECONNREFUSED/);
    const runId = /· run (\S+) ·/.exec(r.stdout)![1];
    const journaled = readJournalEvents(journalOf(join(dir, 'state'), runId)).filter((e) => e.type === 'step.output' && /^poll \d+:/.test(e.text));
    expect(journaled.length).toBeGreaterThan(3);
    expect(polls[1]).toMatch(new RegExp(`\\[healthy\\] polls 2–${journaled.length}: same error$`));
  }, 30_000);
});
