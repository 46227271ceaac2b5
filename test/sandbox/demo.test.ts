/**
 * `npm run demo` is the README's first command on a fresh machine: the built demo, as a user runs it
 * (no terminal: plain lines), ends with its verdict, exit 0 and nothing on stderr — no warning of a
 * dependency, no stack trace. The retention scenario puts its dated backups with the AWS SDK in the
 * demo's own process, whose Node-22 notice is silenced there as in the CLI.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';
import { drillUnavailableReason } from '../drills/sandbox-drill.js';

const skip = drillUnavailableReason() !== undefined;

function demo(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO, 'dist/examples/sandbox/demo.js'), ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(skip)('npm run demo', () => {
  it('scenario 1 by default: every trade restored, the RTO met, exit 0, nothing on stderr', async () => {
    const r = await demo();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^✓ database-corruption: 5000\/5000 trades restored \(checksums match\) · RTO \d+ ms vs objective 5m ✓ met/);
  }, 60_000);

  it('retention: the SDK in the demo process prints no Node-22 notice', async () => {
    const r = await demo('retention');
    expect(r.stderr).not.toContain('NodeVersionSupportWarning');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^✓ retention: kept 20 backups, deleted 378 objects/);
  }, 60_000);
});
