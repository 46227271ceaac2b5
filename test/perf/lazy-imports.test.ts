/**
 * `validate` and `plan` must never load the TUI (ink, react) or a step type's client library (AWS SDK,
 * pg, undici, execa); a plain run must not load the TUI. Proven on the built CLI in a real `node`
 * process that records every package it loads: a resolve hook (registered through `node:module`'s
 * `register()`) sees `import`s, and `require.cache` at exit shows what `require()` loaded, which
 * the hooks of Node 20 do not see.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/src/cli.js');
const missing = existsSync(CLI) ? undefined : `${CLI} not found: build first (npm run build, or npx tsc -p .)`;
if (missing) {
  if (process.env.CI === 'true') throw new Error(missing);
  console.warn(`skipping lazy-import tests: ${missing}`);
}

const FORBIDDEN = /^(ink|react|react-reconciler|@aws-sdk\/.*|@smithy\/.*|pg|pg-.*|undici|execa)$/;
const TUI = /^(ink|react|react-reconciler)$/;

// Runs in the loader thread: append the URL of every bare specifier (a package) that resolves.
const HOOK = `
import { appendFileSync } from 'node:fs';
let file;
export function initialize(data) { file = data.file; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (!/^(\\.|\\/|node:|file:|data:)/.test(specifier)) appendFileSync(file, 'import ' + specifier + ' ' + r.url + '\\n');
  return r;
}
`;

// Preloaded with --import: registers the hook, and at exit lists what require() loaded.
const REGISTER = `
import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
const file = process.env.LAZY_IMPORTS_RECORD;
register(new URL('./hook.mjs', import.meta.url), { data: { file } });
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(file, Object.keys(require.cache).map((p) => 'require ' + p + '\\n').join('')));
`;

const EVERY_TYPE = `
runbook: every-type
title: Every step type
params:
  target: { type: string, default: staging }
secrets:
  db_password: { env: LAZY_TEST_PGPASSWORD }
connections:
  db: { postgres: { url: "postgres://app@127.0.0.1:5432/app", password: "\${{ secrets.db_password }}" } }
  store: { s3: { bucket: backups, endpoint: "http://127.0.0.1:9", region: us-east-1 } }
  engine: { docker: { socket: /nonexistent/docker.sock } }
  app: { http: { base_url: "http://127.0.0.1:9" } }
phases:
  - id: detect
    steps:
      - id: check-shell
        irreversible: "only prints: nothing to undo"
        shell: { run: "echo \${{ params.target }}" }
        outputs: { code: "\${{ result.exit_code }}" }
      - id: check-sql
        sql: { connection: db, query: "SELECT $1::text AS t", params: ["\${{ params.target }}"] }
        rollback: { sql: { connection: db, script: "SELECT 1" } }
      - id: check-http
        http: { connection: app, url: /health, expect_status: [200, 503] }
      - id: latest-backup
        s3: { connection: store, action: latest, prefix: "pg/\${{ params.target }}/" }
      - id: stop-app
        docker: { connection: engine, action: stop, service: web, grace: 10s }
        rollback: { docker: { connection: engine, action: start, service: web } }
      - id: pause
        wait: 10ms
      - id: gate
        approve: { message: go on? }
      - id: sure
        assert: "steps.check-shell.outputs.code == 0"
      - id: note
        log: "done \${{ params.target }}"
`;

const SHELL_ONLY = `
runbook: shell-only
title: Shell only
phases:
  - id: one
    steps:
      - id: hello
        shell: { run: echo hello }
`;

const httpOnly = (port: number) => `
runbook: http-only
title: One request to a closed port
connections:
  app: { http: { base_url: "http://127.0.0.1:${port}" } }
phases:
  - id: one
    steps:
      - id: ping
        http: { connection: app, url: /health }
`;

/** The package a resolved URL or path belongs to (the last node_modules segment), if any. */
function packageOf(location: string): string | undefined {
  const m = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(location);
  return m?.[1];
}

let dir = '';
let closedPort = 0;

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string; packages: string[] } {
  const record = join(dir, `record-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(record, '');
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, CLI, ...args], {
    cwd: dir,
    env: { ...process.env, LAZY_IMPORTS_RECORD: record, NO_COLOR: '1', LAZY_TEST_PGPASSWORD: 'x' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const lines = readFileSync(record, 'utf8').split('\n').filter(Boolean);
  const packages = new Set<string>();
  for (const line of lines) {
    const [how, ...rest] = line.split(' ');
    const pkg = packageOf(rest[rest.length - 1]) ?? (how === 'import' ? rest[0] : undefined);
    if (pkg) packages.add(pkg);
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, packages: [...packages].sort() };
}

describe.skipIf(missing !== undefined)('what the CLI loads (built dist/src/cli.js)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runbook-lazy-'));
    writeFileSync(join(dir, 'hook.mjs'), HOOK);
    writeFileSync(join(dir, 'register.mjs'), REGISTER);
    writeFileSync(join(dir, 'every-type.yaml'), EVERY_TYPE);
    writeFileSync(join(dir, 'shell-only.yaml'), SHELL_ONLY);
    // A port nobody listens on: bind, note it, close.
    const server = createServer();
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    closedPort = (server.address() as { port: number }).port;
    await new Promise<void>((ok) => server.close(() => ok()));
    writeFileSync(join(dir, 'http-only.yaml'), httpOnly(closedPort));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('validate of a runbook using every step type loads no TUI and no client library', () => {
    const r = runCli(['validate', 'every-type.yaml']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain("valid (runbook 'every-type', 1 phase, 9 steps)");
    expect(r.status).toBe(0);
    // The recorder works: what validate does need shows up.
    expect(r.packages).toEqual(expect.arrayContaining(['commander', 'js-yaml', 'ajv']));
    expect(r.packages.filter((p) => FORBIDDEN.test(p))).toEqual([]);
    // A valid file is read by the fast path alone: the `yaml` package is for positions.
    expect(r.packages).not.toContain('yaml');
  });

  it('validate of a runbook with a wrong key points at it without the yaml package', () => {
    writeFileSync(join(dir, 'typo.yaml'), 'runbook: typo\nphases:\n  - id: p\n    steps:\n      - id: a\n        tiemout: 5s\n        log: hi\n');
    const r = runCli(['validate', 'typo.yaml']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("typo.yaml:6:9: step 'a': unknown key 'tiemout'");
    // The fast path's events know where every key starts (src/dsl/load-fast.ts).
    expect(r.packages).toContain('js-yaml');
    expect(r.packages).not.toContain('yaml');
  });

  it('validate of a file the fast path declines loads the yaml package to say what is wrong', () => {
    writeFileSync(join(dir, 'tab.yaml'), 'runbook: tab\nphases:\n  - id: p\n    steps:\n\t- id: a\n        log: hi\n');
    const r = runCli(['validate', 'tab.yaml']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/tab\.yaml:5:\d+: .*tab/);
    expect(r.packages).toEqual(expect.arrayContaining(['js-yaml', 'yaml']));
  });

  it('plan of the same loads no TUI and no client library', () => {
    const r = runCli(['plan', 'every-type.yaml', '--state-dir', join(dir, 'state')]);
    expect(r.status).toBe(0);
    for (const line of ['sql db: SELECT $1::text AS t (1 param)', 'GET app:/health (expect 200, 503)', 's3 latest store:pg/staging/', 'docker stop service web (grace 10s) @engine']) {
      expect(r.stdout).toContain(line);
    }
    expect(r.packages.filter((p) => FORBIDDEN.test(p))).toEqual([]);
  });

  it('run --no-tui of a shell-only runbook loads neither ink nor react (nor any client library)', () => {
    const r = runCli(['run', 'shell-only.yaml', '--no-tui', '--state-dir', join(dir, 'state')]);
    expect(r.stdout).toContain('[hello] hello');
    expect(r.status).toBe(0);
    expect(r.packages.filter((p) => TUI.test(p))).toEqual([]);
    expect(r.packages.filter((p) => FORBIDDEN.test(p))).toEqual([]);
  });

  it('the recorder sees a client library loaded through require() when a step needs it', () => {
    // The http connection requires undici on open: proof that the check above is not blind to require().
    const r = runCli(['run', 'http-only.yaml', '--no-tui', '--state-dir', join(dir, 'state')]);
    expect(r.stdout).toMatch(/ECONNREFUSED/);
    expect(r.status).toBe(1);
    expect(r.packages).toContain('undici');
    expect(r.packages.filter((p) => TUI.test(p))).toEqual([]);
  });
});
