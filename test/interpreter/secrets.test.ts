/**
 * Secrets through the real CLI (spec §3, §6): a secret's value never reaches stdout (NDJSON or plain
 * lines), stderr, the journal or the report — also when a step prints it in pieces, in results,
 * outputs, error messages and measures — while steps themselves get the real value.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/interpreter/events.js';
import { assertBuilt, journalOf, runCli } from '../helpers/cli.js';

const ENV_SECRET = 'envSecret-9f3Kq-XyZ';
const FILE_SECRET = 'file/secret+with spaces&"quotes"';

let dir: string;
beforeAll(() => {
  assertBuilt();
  dir = mkdtempSync(join(tmpdir(), 'runbook-secrets-'));
  writeFileSync(join(dir, 'token.txt'), FILE_SECRET + '\n');
  writeFileSync(
    join(dir, 'secrets.yaml'),
    `runbook: secrets-everywhere
secrets:
  api: { env: TEST_API_SECRET }
  file_token: { file: token.txt }
phases:
  - id: main
    steps:
      - id: pieces
        # printed in two writes 200 ms apart: two output chunks
        shell: { run: 'printf %s "\${TEST_API_SECRET:0:7}"; sleep 0.2; printf "%s\\n" "\${TEST_API_SECRET:7}"' }
        outputs: { echoed: result.stdout }
      - id: file-secret
        shell: { run: 'printf "%s\\n" \${{ secrets.file_token }}' }
        outputs: { token: trim(result.stdout) }
      - id: json
        shell: { run: 'printf "{\\"token\\": \\"%s\\"}\\n" "$TEST_API_SECRET"' }
        outputs: { token: result.json.token }
      - id: real-value
        # the step works with the real values
        shell: { run: 'test "$(cat token.txt)" = \${{ secrets.file_token }} && test "$TEST_API_SECRET" = \${{ secrets.api }} && echo same' }
      - id: expect-fails
        on_failure: continue
        shell: { run: 'echo "$TEST_API_SECRET"' }
        expect: "result.stdout == 'nope'"
      - id: stderr-fails
        on_failure: continue
        shell: { run: 'echo "denied for \${{ secrets.api }}" >&2; exit 4' }
      - id: note
        log: "rotated \${{ secrets.api }} and \${{ secrets.file_token }}"
measure:
  leaked: "steps.json.outputs.token"
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const textOf = (events: RunEvent[], step: string) =>
  events
    .filter((e) => e.type === 'step.output' && e.step === step && e.stream !== 'info')
    .map((e) => (e as { text: string }).text)
    .join('');

function expectNoSecret(where: string, text: string): void {
  for (const s of [ENV_SECRET, FILE_SECRET, JSON.stringify(FILE_SECRET).slice(1, -1), encodeURIComponent(FILE_SECRET)]) {
    expect(text.includes(s), `${where} holds a secret (${s})`).toBe(false);
  }
}

describe('secrets', () => {
  it('never appear in --json stdout, the journal, the report — in pieces, results, outputs, errors, measures', async () => {
    const stateDir = join(dir, 'state-json');
    const r = await runCli(['run', join(dir, 'secrets.yaml'), '--json', '--state-dir', stateDir], { env: { TEST_API_SECRET: ENV_SECRET } });
    expect(r.code, r.stderr).toBe(0);
    const ev = r.events;
    const runId = ev[0].run;
    const journal = readFileSync(journalOf(stateDir, runId), 'utf8');
    expectNoSecret('stdout', r.stdout);
    expectNoSecret('stderr', r.stderr);
    expectNoSecret('journal', journal);
    // A secret printed in two chunks: what a viewer shows (the chunks joined) is masked too.
    expectNoSecret('joined output of pieces', textOf(ev, 'pieces'));
    expect(textOf(ev, 'pieces')).toBe('***\n');
    expect(textOf(ev, 'file-secret')).toBe('***\n');
    expect(textOf(ev, 'real-value')).toBe('same\n');
    const finished = (id: string) => ev.find((e) => e.type === 'step.finished' && e.step === id) as Record<string, any>;
    expect(finished('pieces').outputs).toEqual({ echoed: '***\n' });
    expect(finished('file-secret').outputs).toEqual({ token: '***' });
    expect(finished('json').outputs).toEqual({ token: '***' });
    expect(finished('json').result.json).toEqual({ token: '***' });
    expect(finished('real-value').status).toBe('succeeded');
    expect(finished('expect-fails')).toMatchObject({ status: 'failed', error: expect.stringContaining("expect failed: result.stdout == 'nope'") });
    expect(finished('stderr-fails')).toMatchObject({ status: 'failed', error: 'exit code 4 (expected 0): denied for ***' });
    expect(ev.find((e) => e.type === 'log')).toMatchObject({ text: 'rotated *** and ***' });
    expect(ev.at(-1)).toMatchObject({ type: 'run.finished', measures: { leaked: '***' } });
    // The report written next to the journal, and `runbook report` in every format.
    const runDir = join(stateDir, 'runs', runId);
    for (const f of readdirSync(runDir)) expectNoSecret(f, readFileSync(join(runDir, f), 'utf8'));
    expect(existsSync(join(runDir, 'report.md'))).toBe(true);
    for (const format of ['md', 'json', 'junit', 'prometheus']) {
      const rep = await runCli(['report', runId, '--format', format, '--state-dir', stateDir]);
      expect(rep.code, rep.stderr).toBe(0);
      expectNoSecret(`report --format ${format}`, rep.stdout);
    }
  }, 60_000);

  it('never appear in the plain --no-tui lines', async () => {
    const r = await runCli(['run', join(dir, 'secrets.yaml'), '--no-tui', '--state-dir', join(dir, 'state-plain')], { env: { TEST_API_SECRET: ENV_SECRET } });
    expect(r.code, r.stderr).toBe(0);
    expectNoSecret('plain stdout', r.stdout);
    expectNoSecret('plain stderr', r.stderr);
    expect(r.stdout).toContain('***');
  }, 30_000);

  it('a missing required secret stops the run before anything executes (exit 2, names the secret)', async () => {
    const stateDir = join(dir, 'state-missing');
    const r = await runCli(['run', join(dir, 'secrets.yaml'), '--json', '--state-dir', stateDir], { env: { TEST_API_SECRET: undefined } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/secrets\.yaml:3:\d+: .*secret 'api': environment variable TEST_API_SECRET is not set/);
    expect(existsSync(join(stateDir, 'runs'))).toBe(false);
  }, 30_000);

  it('an empty env secret is reported as empty, not as "not set" (exit 2)', async () => {
    const stateDir = join(dir, 'state-empty');
    const r = await runCli(['run', join(dir, 'secrets.yaml'), '--json', '--state-dir', stateDir], { env: { TEST_API_SECRET: '' } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/secrets\.yaml:3:\d+: .*secret 'api': environment variable TEST_API_SECRET is empty \[SECRET_MISSING\]/);
    expect(existsSync(join(stateDir, 'runs'))).toBe(false);
  }, 30_000);

  it.each(['e', 'ok', 'abc'])('a secret shorter than 4 characters (%j) stops the run at start: exit 2, SECRET_SHORT naming it', async (short) => {
    const stateDir = join(dir, `state-short-${short}`);
    const r = await runCli(['run', join(dir, 'secrets.yaml'), '--json', '--state-dir', stateDir], { env: { TEST_API_SECRET: short } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/secrets\.yaml:3:\d+: secret 'api': the value of environment variable TEST_API_SECRET is \d characters? long; secrets need at least 4 .*\[SECRET_SHORT\]/);
    expect(existsSync(join(stateDir, 'runs'))).toBe(false);
  }, 30_000);

  it('a secret that is part of the event envelope (type, ts, run, runbook, step ids) leaves the journal readable', async () => {
    // "run." is in every event type, "2026" in every ts, "main" is the phase id, "secrets" in the runbook id.
    const stateDir = join(dir, 'state-envelope');
    writeFileSync(
      join(dir, 'envelope.yaml'),
      `runbook: secrets-envelope
secrets: { s: { env: ENVELOPE_SECRET }, t: { env: ENVELOPE_T }, u: { env: ENVELOPE_U } }
phases:
  - id: main
    steps:
      - { id: step, shell: { run: "echo start main" } }
`,
    );
    const env = { ENVELOPE_SECRET: 'run.', ENVELOPE_T: 'main', ENVELOPE_U: 'envelope' };
    const r = await runCli(['run', join(dir, 'envelope.yaml'), '--json', '--state-dir', stateDir], { env });
    expect(r.code, r.stderr).toBe(0);
    const runId = r.events[0].run;
    expect(r.events[0]).toMatchObject({ type: 'run.started', runbook: 'secrets-envelope' });
    expect(r.events.find((e) => e.type === 'step.output')).toMatchObject({ type: 'step.output', step: 'step', text: 'start ***\n' });
    expect(r.events.find((e) => e.type === 'phase.started')).toMatchObject({ phase: 'main' });
    // The outline resume compares keeps its ids.
    expect(r.events[0]).toMatchObject({ outline: [{ id: 'main', steps: [{ id: 'step' }] }] });
    expect(r.events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    const lines = readFileSync(journalOf(stateDir, runId), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((e) => e.type)).toContain('run.finished');
    for (const e of lines) expect(Object.keys(e)).toEqual(expect.arrayContaining(['ts', 'type', 'run']));
    const history = await runCli(['history', '--state-dir', stateDir]);
    expect(history.stdout).toContain(runId);
    const report = await runCli(['report', 'latest', '--state-dir', stateDir]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain('succeeded');
  }, 30_000);
});
