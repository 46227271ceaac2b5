import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderShell, shellStep } from '../../src/steps/shell/index.js';
import { KILL_GRACE_MS, killAllShellGroups, listShellGroups } from '../../src/steps/shell/execute.js';
import { failureOf, stepHarness, type OutputChunk } from '../helpers/step-context.js';

const baseDir = mkdtempSync(join(tmpdir(), 'shell-step-'));
mkdirSync(join(baseDir, 'sub'));
const groupsToReap: number[] = [];

afterAll(() => {
  for (const pgid of groupsToReap) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(baseDir, { recursive: true, force: true });
});

function makeContext(controller = new AbortController()) {
  const h = stepHarness({ signal: controller.signal, runId: 'r1', stepId: 's1', baseDir, env: { PATH: process.env.PATH, FROM_CTX: 'ctx-value' } });
  return { ...h, chunks: h.output, controller };
}

/** Processes of a group that are still alive (zombies left to a non-reaping PID 1 do not count). */
function liveMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp …; comm may contain spaces, so split after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') pids.push(Number(entry));
  }
  return pids;
}

async function waitForOutput(chunks: OutputChunk[], pattern: RegExp): Promise<RegExpMatchArray> {
  for (let i = 0; i < 200; i++) {
    const m = chunks.map((c) => c.text).join('').match(pattern);
    if (m) return m;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no output matching ${pattern}`);
}

describe('shell step: running', () => {
  it('runs a script with env added to ctx.env, a relative cwd and stdin', async () => {
    const { ctx } = makeContext();
    const result = await shellStep.execute(
      { run: 'echo "$FOO $FROM_CTX $PORT $(basename "$PWD")"; cat', env: { FOO: 'bar', PORT: 5432 }, cwd: 'sub', stdin: 'hello from stdin' },
      ctx,
    );
    expect(result).toEqual({ exit_code: 0, stdout: 'bar ctx-value 5432 sub\nhello from stdin', stderr: '', json: null });
  });

  it('defaults cwd to the runbook folder and gives an empty stdin', async () => {
    const { ctx } = makeContext();
    const result = await shellStep.execute({ run: 'pwd; cat; echo end' }, ctx);
    expect(result.stdout).toBe(`${baseDir}\nend\n`);
  });

  it('passes an argv list literally, without a shell', async () => {
    const { ctx } = makeContext();
    const args = ['a b', `it's "quoted"`, '$HOME', '*', '', 'semi;colon && echo no'];
    const result = await shellStep.execute(
      { command: [process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', ...args] },
      ctx,
    );
    expect(result.json).toEqual(args);
    expect(result.exit_code).toBe(0);
  });

  it('parses stdout as JSON when it is JSON, else null', async () => {
    const { ctx } = makeContext();
    expect((await shellStep.execute({ run: `echo '{"lag_ms": 42, "ok": true}'` }, ctx)).json).toEqual({ lag_ms: 42, ok: true });
    expect((await shellStep.execute({ run: 'echo not json' }, ctx)).json).toBeNull();
    expect((await shellStep.execute({ run: 'true' }, ctx)).json).toBeNull();
  });

  it('accepts exit codes listed in expect_exit', async () => {
    const { ctx } = makeContext();
    const result = await shellStep.execute({ run: 'echo partial; exit 3', expect_exit: [0, 3] }, ctx);
    expect(result).toEqual({ exit_code: 3, stdout: 'partial\n', stderr: '', json: null });
    expect((await shellStep.execute({ run: 'exit 4', expect_exit: 4 }, ctx)).exit_code).toBe(4);
  });

  it('fails on an unexpected exit code, naming it and the last stderr line, with the result attached', async () => {
    const { ctx } = makeContext();
    const failure = await failureOf(shellStep.execute({ run: 'echo out; echo first >&2; echo "disk full" >&2; exit 3' }, ctx));
    expect(failure.message).toBe('exit code 3 (expected 0): disk full');
    expect(failure.result).toEqual({ exit_code: 3, stdout: 'out\n', stderr: 'first\ndisk full\n', json: null });
    const listed = await failureOf(shellStep.execute({ run: 'exit 2', expect_exit: [0, 1] }, ctx));
    expect(listed.message).toBe('exit code 2 (expected 0 or 1)');
  });

  it('runs bash with -e and pipefail', async () => {
    const { ctx } = makeContext();
    const pipe = await failureOf(shellStep.execute({ run: 'false | true; echo not reached' }, ctx));
    expect(pipe.result).toMatchObject({ exit_code: 1, stdout: '' });
    const errexit = await failureOf(shellStep.execute({ run: 'false; echo not reached' }, ctx));
    expect(errexit.result).toMatchObject({ exit_code: 1, stdout: '' });
  });

  it('streams output live, in order, as it arrives', async () => {
    const { ctx, chunks } = makeContext();
    const started = performance.now();
    const result = await shellStep.execute({ run: 'echo one; echo err1 >&2; sleep 0.2; echo two; echo err2 >&2' }, ctx);
    expect(result).toMatchObject({ stdout: 'one\ntwo\n', stderr: 'err1\nerr2\n' });
    const out = chunks.filter((c) => c.stream === 'stdout');
    expect(out.map((c) => c.text)).toEqual(['one\n', 'two\n']);
    // The first line was delivered while the script was still sleeping, not at the end.
    expect(out[1].at - out[0].at).toBeGreaterThanOrEqual(150);
    expect(out[0].at - started).toBeLessThan(out[1].at - started - 150);
    expect(chunks.filter((c) => c.stream === 'stderr').map((c) => c.text)).toEqual(['err1\n', 'err2\n']);
  });

  it('decodes UTF-8 split across chunks', async () => {
    const { ctx, text } = makeContext();
    // "é" is c3 a9: write the two bytes 100 ms apart so they arrive in different chunks.
    const result = await shellStep.execute({ run: `printf 'caf\\xc3'; sleep 0.1; printf '\\xa9!'` }, ctx);
    expect(result.stdout).toBe('café!');
    expect(text('stdout')).toBe('café!');
  });

  it('keeps exactly the last 1 MiB of a 3 MiB stdout', async () => {
    const { ctx, text } = makeContext();
    const script = 'let s="";for(let i=0;s.length<3*1024*1024;i++)s+=`line ${i}\\n`;process.stdout.write(s)';
    const full = (() => {
      let s = '';
      for (let i = 0; s.length < 3 * 1024 * 1024; i++) s += `line ${i}\n`;
      return s;
    })();
    const result = await shellStep.execute({ command: [process.execPath, '-e', script] }, ctx);
    expect(full.length).toBeGreaterThan(3 * 1024 * 1024 - 1);
    expect((result.stdout as string).length).toBe(1024 * 1024);
    expect(result.stdout).toBe(full.slice(-1024 * 1024));
    expect(result.json).toBeNull();
    // Live output still saw every byte.
    expect(text('stdout')).toBe(full);
  });

  it('streams 100 MB through without holding it', async () => {
    const { ctx } = makeContext();
    let streamed = 0;
    ctx.output = (_stream, text) => {
      streamed += text.length;
    };
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const result = await shellStep.execute({ run: "head -c 104857600 /dev/zero | tr '\\0' x" }, ctx);
    const grown = process.memoryUsage().rss - rssBefore;
    expect(streamed).toBe(100 * 1024 * 1024);
    expect(result.stdout).toBe('x'.repeat(1024 * 1024));
    // Two 1 MiB tails plus garbage not yet collected; 100 MB held would show here.
    expect(grown).toBeLessThan(60 * 1024 * 1024);
  });

  it('does not hang when a background process keeps stdout open after the script ends', async () => {
    const { ctx } = makeContext();
    const started = performance.now();
    const result = await shellStep.execute({ run: 'echo $$; sleep 30 & echo started' }, ctx);
    const pgid = Number((result.stdout as string).split('\n')[0]);
    groupsToReap.push(pgid);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(result).toMatchObject({ exit_code: 0, stdout: `${pgid}\nstarted\n` });
  });

  it('fails clearly when the command does not exist or the cwd is missing', async () => {
    const { ctx } = makeContext();
    const missing = await failureOf(shellStep.execute({ command: ['no-such-command-xyz', 'arg'] }, ctx));
    expect(missing.message).toBe('cannot start no-such-command-xyz: command not found');
    expect(missing.code).toBe('SPAWN_FAILED');
    const noCwd = await failureOf(shellStep.execute({ run: 'true', cwd: 'nowhere' }, ctx));
    expect(noCwd.message).toBe(`cannot start bash: cwd ${join(baseDir, 'nowhere')} does not exist`);
    // In bash, a missing command is exit 127 with bash's own message.
    const inScript = await failureOf(shellStep.execute({ run: 'no-such-command-xyz' }, ctx));
    expect(inScript.message).toMatch(/^exit code 127 \(expected 0\): bash: line 1: no-such-command-xyz: command not found$/);
  });
});

describe('shell step: cancellation', () => {
  it('kills the whole process group on abort, grandchildren included, and settles promptly', async () => {
    const { ctx, chunks, controller } = makeContext();
    const running = shellStep.execute({ run: 'echo $$; sleep 1000 & sleep 1000; wait' }, ctx);
    const pgid = Number((await waitForOutput(chunks, /^(\d+)\n/))[1]);
    groupsToReap.push(pgid);
    expect(listShellGroups()).toContain(pgid);
    await new Promise((r) => setTimeout(r, 300));
    expect(liveMembers(pgid).length).toBe(3);
    const abortedAt = performance.now();
    controller.abort(new Error('timeout after 300ms'));
    const failure = await failureOf(running);
    expect(performance.now() - abortedAt).toBeLessThan(1000);
    expect(failure.code).toBe('STEP_CANCELLED');
    expect(failure.message).toBe('cancelled (timeout after 300ms): process group killed with SIGTERM');
    expect(failure.result).toMatchObject({ exit_code: 143, signal: 'SIGTERM', stdout: `${pgid}\n` });
    expect(liveMembers(pgid)).toEqual([]);
    expect(listShellGroups()).not.toContain(pgid);
  });

  it('SIGKILLs a group that ignores SIGTERM after the grace period', async () => {
    const { ctx, chunks, controller } = makeContext();
    const running = shellStep.execute({ run: `trap '' TERM; echo $$; sleep 1000 & sleep 1000; wait` }, ctx);
    const pgid = Number((await waitForOutput(chunks, /^(\d+)\n/))[1]);
    groupsToReap.push(pgid);
    await new Promise((r) => setTimeout(r, 300));
    const abortedAt = performance.now();
    controller.abort();
    const failure = await failureOf(running);
    const elapsed = performance.now() - abortedAt;
    expect(elapsed).toBeGreaterThanOrEqual(KILL_GRACE_MS - 50);
    expect(elapsed).toBeLessThan(KILL_GRACE_MS + 1000);
    expect(failure.message).toBe('cancelled (aborted): process group killed with SIGTERM, then SIGKILL');
    expect(failure.result).toMatchObject({ exit_code: 137, signal: 'SIGKILL' });
    expect(liveMembers(pgid)).toEqual([]);
  });

  it('kills a process that left the group with setsid too, and settles promptly', async () => {
    const { ctx, chunks, controller } = makeContext();
    // setsid puts the sleeper in its own process group; the step's cgroup still holds it (spec §12).
    const running = shellStep.execute({ run: 'echo $$; setsid sleep 30 & echo $!; sleep 1000' }, ctx);
    const [, pgid, escaped] = (await waitForOutput(chunks, /^(\d+)\n(\d+)\n/)).map(Number);
    groupsToReap.push(pgid, escaped);
    const abortedAt = performance.now();
    controller.abort();
    const failure = await failureOf(running);
    expect(performance.now() - abortedAt).toBeLessThan(1000);
    expect(failure.code).toBe('STEP_CANCELLED');
    expect(liveMembers(pgid)).toEqual([]);
    expect(liveMembers(escaped)).toEqual([]);
  });

  it('killAllShellGroups signals every running step', async () => {
    const { ctx, chunks } = makeContext();
    const running = shellStep.execute({ run: 'echo $$; sleep 1000' }, ctx);
    const pgid = Number((await waitForOutput(chunks, /^(\d+)\n/))[1]);
    groupsToReap.push(pgid);
    expect(killAllShellGroups('SIGKILL')).toBeGreaterThanOrEqual(1);
    const failure = await failureOf(running);
    expect(failure.message).toBe('exit code 137 (killed by SIGKILL) (expected 0)');
    expect(liveMembers(pgid)).toEqual([]);
  });

  it('does not start when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const { ctx } = makeContext(controller);
    const failure = await failureOf(shellStep.execute({ run: 'touch should-not-exist' }, ctx));
    expect(failure).toMatchObject({ code: 'STEP_CANCELLED', message: 'cancelled (aborted) before it started' });
    expect(readdirSync(baseDir)).not.toContain('should-not-exist');
  });
});

describe('shell step: declaration', () => {
  it('renders the first line of a script or the quoted argv', () => {
    expect(renderShell({ run: 'pg_ctl promote -D /data\n' })).toBe('pg_ctl promote -D /data');
    expect(renderShell({ run: '\n  set -x\n  pg_ctl promote\n' })).toBe('set -x …');
    expect(renderShell({ command: ['psql', '-c', "select 'a b'"] })).toBe(`psql -c 'select '\\''a b'\\'''`);
    const long = renderShell({ command: ['echo', 'x'.repeat(200)] });
    expect(long.length).toBe(72);
    expect(long.endsWith('…')).toBe(true);
  });

  it('declares its schema and flags', () => {
    expect(shellStep.name).toBe('shell');
    expect(shellStep.sideEffects).toBe(true);
    expect(shellStep.shellQuoted).toEqual(['run']);
    expect(shellStep.schema).toMatchObject({ type: 'object', additionalProperties: false });
    for (const property of Object.values(shellStep.schema.properties as Record<string, { description?: string }>)) {
      expect(property.description).toBeTruthy();
    }
  });
});
