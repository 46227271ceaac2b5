/**
 * Spec §12 "Bounded everything": what a step prints is journaled up to `output_limit` per stream,
 * the rest counted in one `step.output_truncated {step, stream, bytes}` — exact bytes, through the
 * real CLI; `--json` streams the same events; the result keeps the last 1 MiB.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/interpreter/events.js';
import { OutputLimit } from '../../src/interpreter/output-limit.js';
import { parseSize } from '../../src/dsl/size.js';
import { assertBuilt, journalOf, readJournalEvents, runCli } from '../helpers/cli.js';

let dir: string;
beforeAll(() => {
  assertBuilt();
  dir = mkdtempSync(join(tmpdir(), 'runbook-output-limit-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const journaled = (events: RunEvent[], step: string, stream: string) =>
  events.filter((e) => e.type === 'step.output' && e.step === step && e.stream === stream).map((e) => (e as { text: string }).text).join('');
const truncations = (events: RunEvent[]) => events.filter((e) => e.type === 'step.output_truncated');

describe('output_limit', () => {
  it('journals 1 MiB by default and counts the rest exactly, per stream; a step or defaults can change it', async () => {
    const file = join(dir, 'limit.yaml');
    writeFileSync(
      file,
      `runbook: output-limit
defaults:
  output_limit: 10KB
phases:
  - id: main
    steps:
      - id: big
        output_limit: 1MiB
        shell: { run: "head -c 3000000 /dev/zero | tr '\\\\0' a; head -c 5000 /dev/zero | tr '\\\\0' e >&2" }
      - id: small
        shell: { run: "head -c 25000 /dev/zero | tr '\\\\0' b" }
      - id: quiet
        output_limit: 0
        retry: { attempts: 2, delay: 10ms }
        shell: { run: "echo twelve bytes; exit 1" }
        on_failure: continue
`,
    );
    const stateDir = join(dir, 'state');
    const r = await runCli(['run', file, '--json', '--state-dir', stateDir]);
    expect(r.code, r.stderr).toBe(0);
    const events = readJournalEvents(journalOf(stateDir, r.events[0].run));
    expect(journaled(events, 'big', 'stdout')).toBe('a'.repeat(1024 * 1024));
    expect(journaled(events, 'big', 'stderr')).toBe('e'.repeat(5000));
    expect(journaled(events, 'small', 'stdout')).toBe('b'.repeat(10_000));
    expect(journaled(events, 'quiet', 'stdout')).toBe('');
    // One event per stream that lost bytes, at the end of the instance (both attempts counted), before step.finished.
    expect(truncations(events)).toMatchObject([
      { step: 'big', stream: 'stdout', bytes: 3_000_000 - 1024 * 1024 },
      { step: 'small', stream: 'stdout', bytes: 15_000 },
      { step: 'quiet', stream: 'stdout', bytes: 2 * 13 },
    ]);
    const order = events.map((e) => `${e.type} ${(e as { step?: string }).step ?? ''}`);
    expect(order.indexOf('step.output_truncated big')).toBe(order.indexOf('step.finished big') - 1);
    // --json printed the same events.
    expect(truncations(r.events)).toEqual(truncations(events));
    // The result's tail is still the last 1 MiB (journaled cut to 64 KiB, as before).
    const big = events.find((e) => e.type === 'step.finished' && e.step === 'big') as { result: { stdout: string } };
    expect(big.result.stdout.endsWith('a'.repeat(1000))).toBe(true);
  }, 30_000);

  it('the plain lines say how much was not journaled', async () => {
    const file = join(dir, 'plain.yaml');
    writeFileSync(file, `runbook: plain-limit\nphases:\n  - id: main\n    steps:\n      - id: chatty\n        output_limit: 5B\n        shell: { run: "printf 'hello world'" }\n`);
    const r = await runCli(['run', file, '--no-tui', '--state-dir', join(dir, 'plain-state')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('[chatty] hello\n');
    expect(r.stdout).toContain('[chatty] … 6 more bytes of stdout not journaled (output_limit)');
  }, 30_000);

  it('rejects a size that is not one, at its place', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, `runbook: bad-limit\nphases:\n  - id: main\n    steps:\n      - id: a\n        output_limit: 1 megabyte\n        shell: { run: "true" }\n`);
    const r = await runCli(['validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr + r.stdout).toMatch(/bad\.yaml:6:\d+: .*output_limit/);
  });
});

describe('OutputLimit', () => {
  it('cuts on a character boundary and counts the bytes it dropped', () => {
    const limit = new OutputLimit(5);
    // é is 2 bytes: "éé" (4) fits, the third would cross 5.
    expect(limit.take('stdout', 'ééé')).toBe('éé');
    expect(limit.take('stdout', 'xyz')).toBe('');
    expect(limit.take('stderr', 'abc')).toBe('abc');
    expect(limit.truncated()).toEqual([{ stream: 'stdout', bytes: 2 + 3 }]);
  });

  it('parses sizes', () => {
    expect([parseSize('1MiB'), parseSize('10KB'), parseSize('512KiB'), parseSize(7), parseSize('1GB'), parseSize('3B')]).toEqual([1048576, 10000, 524288, 7, 1e9, 3]);
    expect([parseSize('1 MiB'), parseSize('1mb'), parseSize(-1), parseSize(1.5)]).toEqual([undefined, undefined, undefined, undefined]);
  });
});
