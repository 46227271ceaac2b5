/** Shared by the drills that start a recovered PostgreSQL server through a runbook (pg_ctl). */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The recovered server was started by the runbook (pg_ctl), not by the sandbox: stop it here. */
export function stopRecovered(dir: string, osUser: string | undefined): void {
  if (!existsSync(join(dir, 'postmaster.pid'))) return;
  const pgCtl = execFileSync('bash', ['-c', 'command -v pg_ctl'], { env: { ...process.env, PATH: `${process.env.PATH}:${findBin()}` } }).toString().trim();
  const argv = [pgCtl, '-D', dir, '-m', 'immediate', '-w', 'stop'];
  if (osUser) execFileSync('runuser', ['-u', osUser, '--', ...argv], { stdio: 'ignore' });
  else execFileSync(argv[0], argv.slice(1), { stdio: 'ignore' });
}

function findBin(): string {
  return execFileSync('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1']).toString().trim();
}
