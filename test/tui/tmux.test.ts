/**
 * The whole program in a real terminal: `runbook run` under tmux, keys sent as an operator would.
 * Needs the built CLI (`npm run build` → dist/src/cli.js) and tmux.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/runbook.cjs');
const hasCli = existsSync(cli);
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasCli) console.warn(`tmux test skipped: ${cli} does not exist (run \`npm run build\`)`);
if (hasCli && !hasTmux) {
  if (process.env.CI === 'true') throw new Error('tmux is missing (apt-get install tmux)');
  console.warn('tmux test skipped: tmux is not installed');
}

const DRILL = `runbook: tui-drill
title: TUI drill
severity: P2
objectives:
  rto: 1m
phases:
  - id: prepare
    title: Prepare
    budget: 30s
    steps:
      - id: hello
        title: Say hello
        shell: { run: "for i in 1 2 3; do echo line $i; done" }
        rollback:
          shell: { run: "echo undo hello" }
      - id: breaks
        title: This one fails
        shell: { run: "echo about to fail; exit 3" }
`;

const LONG = `runbook: tui-long
title: Long drill
phases:
  - id: work
    budget: 5s
    steps:
      - id: prep
        shell: { run: "echo prepared" }
        rollback:
          shell: { run: "echo unprepared" }
      - id: long
        title: Takes long
        shell: { run: "echo working; sleep 30" }
`;

const RESUME = `runbook: tui-resume
title: Resume drill
objectives:
  rto: 10m
phases:
  - id: work
    budget: 5m
    steps:
      - id: first
        shell: { run: "echo first" }
      - id: slow
        shell: { run: "echo slow-started; sleep 2" }
`;

describe.skipIf(!hasCli || !hasTmux)('runbook run in a real terminal (tmux)', () => {
  let dir: string;
  const sessions: string[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'runbook-tmux-'));
    writeFileSync(join(dir, 'drill.yaml'), DRILL);
    writeFileSync(join(dir, 'long.yaml'), LONG);
    writeFileSync(join(dir, 'resume.yaml'), RESUME);
  });
  afterAll(() => {
    for (const s of sessions) spawnSync('tmux', ['kill-session', '-t', s]);
    rmSync(dir, { recursive: true, force: true });
  });

  function start(args: string, opts: { env?: string; columns?: number } = {}): string {
    const name = `runbook-tui-${process.pid}-${sessions.length}`;
    sessions.push(name);
    const cmd = `cd ${dir} && ${opts.env ?? ''} node ${cli} ${args} --state-dir ${dir}/state; echo EXIT=$?; sleep 60`;
    execFileSync('tmux', ['new-session', '-d', '-s', name, '-x', String(opts.columns ?? 110), '-y', '45', cmd]);
    return name;
  }
  const screen = (s: string) => execFileSync('tmux', ['capture-pane', '-p', '-t', s], { encoding: 'utf8' });
  /** The screen with its colours (SGR escapes). */
  const screenWithColours = (s: string) => execFileSync('tmux', ['capture-pane', '-p', '-e', '-t', s], { encoding: 'utf8' });
  const keys = (s: string, ...k: string[]) => execFileSync('tmux', ['send-keys', '-t', s, ...k]);
  async function waitFor(s: string, text: string, ms = 15_000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const out = screen(s);
      if (out.includes(text)) return out;
      if (Date.now() > end) throw new Error(`'${text}' did not appear; the screen:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('--step: enter runs each step, the failure prompt aborts, rollbacks run, the summary stays, exit 1', async () => {
    const s = start('run drill.yaml --step');
    let out = await waitFor(s, 'Next step: hello — Say hello');
    expect(out).toContain('TUI drill  P2  run ');
    expect(out).toContain('[enter] run  [s] skip  [a] abort  [c] continue without stepping');
    keys(s, 'Enter');
    out = await waitFor(s, 'Next step: breaks — This one fails');
    expect(out).toMatch(/ ✓ hello {4}Say hello {6}shell {3}1\/1 +\S+ ↺ line 3/);
    keys(s, 'Enter');
    out = await waitFor(s, '[a] abort   fail the run and roll back');
    expect(out).toContain('[s] skip    record the step as skipped and go on');
    expect(out).toContain('[i] ignore  keep it failed and go on, as on_failure: continue would');
    expect(out).toContain('at drill.yaml:16:9');
    keys(s, 'a');
    out = await waitFor(s, 'EXIT=');
    expect(out).toContain('EXIT=1');
    expect(out).toMatch(/↺ Run rolled back in \S+ \/ RTO 1m/);
    expect(out).toMatch(/✗ prepare .*✓ hello ✗ breaks/);
    expect(out).toMatch(/ {2}✓ hello {2}succeeded \S+/);
    expect(out).toMatch(/Report: .*\/report\.md/);
    expect(out).toContain('? breaks: abort by ');
  }, 30_000);

  it('Ctrl-C aborts the running step and rolls back, exit 130', async () => {
    const s = start('run long.yaml');
    await waitFor(s, '  working');
    keys(s, 'C-c');
    const out = await waitFor(s, 'EXIT=');
    expect(out).toContain('EXIT=130');
    expect(out).toMatch(/⊘ Run aborted in/);
    expect(out).toMatch(/ {2}✓ prep {2}succeeded/);
    expect(out).toMatch(/✓ prep ⊘ long/);
  }, 30_000);

  it('colours the TUI on a terminal, and not with NO_COLOR', async () => {
    const coloured = start('run drill.yaml', { env: 'env -u NO_COLOR -u FORCE_COLOR' });
    await waitFor(coloured, '[a] abort');
    keys(coloured, 'a');
    await waitFor(coloured, 'EXIT=');
    // the summary's run status in yellow (rolled back), a succeeded step's ✓ in green
    expect(screenWithColours(coloured)).toMatch(/\u001b\[3[0-9]m/);
    const plain = start('run drill.yaml', { env: 'env -u FORCE_COLOR NO_COLOR=1' });
    await waitFor(plain, '[a] abort');
    keys(plain, 'a');
    const out = await waitFor(plain, 'EXIT=');
    expect(out).toMatch(/↺ Run rolled back in/);
    expect(screenWithColours(plain)).not.toMatch(/\u001b\[3[0-9]m/);
  }, 30_000);

  it('the TUI honours `color: never` in the config file, and --color over it', async () => {
    // The user's config file (XDG_CONFIG_HOME), so that the other runs in this folder do not see it.
    const xdg = join(dir, 'xdg');
    mkdirSync(join(xdg, 'runbook'), { recursive: true });
    writeFileSync(join(xdg, 'runbook', 'runbook.config.yaml'), 'color: never\n');
    const never = start('run drill.yaml', { env: `env -u NO_COLOR -u FORCE_COLOR XDG_CONFIG_HOME=${xdg}` });
    await waitFor(never, '[a] abort');
    keys(never, 'a');
    expect(await waitFor(never, 'EXIT=')).toMatch(/↺ Run rolled back in/);
    expect(screenWithColours(never)).not.toMatch(/\u001b\[3[0-9]m/);
    const flag = start('run drill.yaml --color', { env: `env -u NO_COLOR -u FORCE_COLOR XDG_CONFIG_HOME=${xdg}` });
    await waitFor(flag, '[a] abort');
    keys(flag, 'a');
    await waitFor(flag, 'EXIT=');
    expect(screenWithColours(flag)).toMatch(/\u001b\[3[0-9]m/);
  }, 30_000);

  it('keeps the run id whole in an 80-column terminal', async () => {
    const s = start('run drill.yaml', { columns: 80 });
    await waitFor(s, '[a] abort');
    keys(s, 'a');
    const out = await waitFor(s, 'EXIT=');
    expect(out).toMatch(/^TUI drill {2}P2 {2}run \d{8}T\d{6}Z-tui-drill-[0-9a-f]{4}\s*$/m);
  }, 30_000);

  it('resume after kill -9: the header, RTO and phase clock come from the original run', async () => {
    // the first process runs with plain lines (piped) and is killed mid-step
    const first = spawn(process.execPath, [cli, 'run', 'resume.yaml', '--json', '--state-dir', `${dir}/state`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    first.stdout.on('data', (d) => (out += d));
    const end = Date.now() + 15_000;
    while (!out.includes('slow-started')) {
      if (Date.now() > end) throw new Error(`the first run did not reach the slow step: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const runId = (JSON.parse(out.split('\n')[0]) as { run: string }).run;
    await new Promise((r) => setTimeout(r, 1500));
    first.kill('SIGKILL');
    await new Promise((r) => first.once('close', r));

    const s = start(`resume ${runId} --rerun-inflight`);
    const screenOut = await waitFor(s, 'EXIT=', 20_000);
    expect(screenOut).not.toContain('Waiting for the run to start');
    expect(screenOut).toContain(`Resume drill  run ${runId}  resumed`);
    expect(screenOut).toContain('EXIT=0');
    // the run took the killed process's time too: at least 1.5 s before the kill, 2 s of rerun after
    const rto = /RTO (\d+(?:\.\d)?)s \/ 10m/.exec(screenOut);
    expect(rto, screenOut).not.toBeNull();
    expect(Number(rto![1])).toBeGreaterThanOrEqual(3.5);
    expect(screenOut).toMatch(/✓ work +(\d+\.\d)s \/ 5m ✓/);
    expect(Number(/✓ work +(\d+\.\d)s/.exec(screenOut)![1])).toBeGreaterThanOrEqual(3.5);
  }, 40_000);
});
