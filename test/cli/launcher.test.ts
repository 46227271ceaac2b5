/**
 * bin/runbook.cjs, the installed `runbook`: it runs the bundle (scripts/bundle.mjs) through a V8 code
 * cache per command (docs/startup.md). What the cache must never change: what the command does.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';

const BIN = join(REPO, 'bin/runbook.cjs');
const bundled = existsSync(join(REPO, 'dist/runbook.bundle.cjs'));
const dir = mkdtempSync(join(tmpdir(), 'runbook-launcher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runbook = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env, RUNBOOK_CODE_CACHE_DEBUG: '1' } });

/**
 * A copy of the installed command (the launcher, package.json and the bundles; tsc's modules,
 * node_modules and schema/ linked) with a dist/ of its own: its code caches and stamps are its own,
 * not the repo's that the other tests write. `run` starts it in `dir`, printing what the cache did.
 */
function installedCopy(name: string) {
  const root = join(dir, name);
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'dist'));
  copyFileSync(BIN, join(root, 'bin/runbook.cjs'));
  copyFileSync(join(REPO, 'package.json'), join(root, 'package.json'));
  for (const b of ['runbook.bundle.cjs', 'clients.bundle.cjs', 'sdk.bundle.cjs', 's3-thread.bundle.cjs']) copyFileSync(join(REPO, 'dist', b), join(root, 'dist', b));
  symlinkSync(join(REPO, 'dist/src'), join(root, 'dist/src'));
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  symlinkSync(join(REPO, 'schema'), join(root, 'schema'));
  const run = (args: string[]) =>
    spawnSync(process.execPath, [join(root, 'bin/runbook.cjs'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, RUNBOOK_CODE_CACHE_DEBUG: '1' } });
  return { root, run };
}

if (!bundled && process.env.CI === 'true') throw new Error('dist/runbook.bundle.cjs is missing: npm run build makes it');
if (!bundled) console.log('skipped: dist/runbook.bundle.cjs not built (npm run build)');

describe.skipIf(!bundled)('bin/runbook.cjs', () => {
  writeFileSync(join(dir, 'ok.yaml'), 'runbook: ok\nphases:\n  - id: p\n    steps:\n      - id: a\n        shell: { run: "echo hello-$((6 * 7))" }\n');
  writeFileSync(join(dir, 'bad.yaml'), 'runbook: bad\nphases:\n  - id: p\n    steps:\n      - id: a\n        tiemout: 5s\n        log: hi\n');

  it('a second start-up of a command reads the cache the first one wrote, and does the same', () => {
    const first = runbook(['validate', 'bad.yaml']);
    const second = runbook(['validate', 'bad.yaml']);
    for (const r of [first, second]) {
      expect(r.status).toBe(2);
      expect(r.stderr).toContain("bad.yaml:6:9: step 'a': unknown key 'tiemout'");
    }
    expect(second.stderr).toMatch(/code cache accepted \(.*validate-/);
    expect(second.stderr.replace(/runbook: code cache.*\n/g, '')).toBe(first.stderr.replace(/runbook: code cache.*\n/g, ''));
  });

  it('runs a runbook the same with and without the cache (clients bundle and TUI stay out of a shell run)', () => {
    for (const env of [{}, {}, { RUNBOOK_CODE_CACHE: '0' }]) {
      const r = runbook(['run', 'ok.yaml', '--no-tui', '--state-dir', join(dir, 'state')], env);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('hello-42');
      // A shell-only run never reads the network clients' bundle.
      expect(r.stderr).not.toMatch(/code cache \w+ \(.*clients-/);
    }
    expect(runbook(['run', 'ok.yaml', '--no-tui', '--state-dir', join(dir, 'state')], { RUNBOOK_CODE_CACHE: '0' }).stderr).toMatch(/code cache off/);
  });

  it("the clients bundle's cache is made again when a run compiled more of it, and only then", () => {
    const { root, run: runCopy } = installedCopy('copy');
    // The steps fail at once on a refused loopback port: what matters is which client they load.
    writeFileSync(join(dir, 'http.yaml'), 'runbook: h\nconnections:\n  app: { http: { base_url: "http://127.0.0.1:1" } }\nphases:\n  - id: p\n    steps:\n      - { id: a, http: { connection: app, url: /x }, irreversible: "a read" }\n');
    writeFileSync(join(dir, 'sql.yaml'), 'runbook: q\nconnections:\n  db: { postgres: { url: "postgres://u@127.0.0.1:1/d" } }\nphases:\n  - id: p\n    steps:\n      - { id: a, sql: { connection: db, query: SELECT 1 }, timeout: 5s }\n');
    const cache = (prefix: string) => {
      const folder = join(root, 'dist/.v8-cache');
      const f = existsSync(folder) ? readdirSync(folder).find((n) => n.startsWith(prefix)) : undefined;
      return f ? { size: statSync(join(folder, f)).size, mtime: statSync(join(folder, f)).mtimeMs } : undefined;
    };
    const run = (file: string) => {
      const r = runCopy(['run', file, '--no-tui', '--state-dir', join(dir, 'state-copy')]);
      expect(r.stderr, r.stderr).toMatch(/code cache \w+ \(.*clients-run-/);
      // The AWS SDK is a bundle of its own, which an sql or http step never reads.
      expect(r.stderr).not.toMatch(/code cache \w+ \(.*sdk-/);
      return r;
    };
    expect(run('http.yaml').stderr).toMatch(/code cache absent \(.*clients-run-/);
    const afterHttp = cache('clients-run-')!;
    expect(afterHttp.size).toBeGreaterThan(0);
    // The PostgreSQL client was not in that cache: accepted, then made again, larger.
    expect(run('sql.yaml').stderr).toMatch(/code cache accepted \(.*clients-run-/);
    const afterSql = cache('clients-run-')!;
    expect(afterSql.size).toBeGreaterThan(afterHttp.size * 1.05);
    // Nothing new compiled: the file is left alone.
    run('sql.yaml');
    expect(cache('clients-run-')).toEqual(afterSql);
  });

  it('an s3 run: its thread runs a bundle of its own through its own cache, and this thread reads no clients bundle', () => {
    const { root, run: runCopy } = installedCopy('copy-s3');
    writeFileSync(join(dir, 's3.yaml'), 'runbook: s\nconnections:\n  store: { s3: { endpoint: "http://127.0.0.1:1", bucket: b, region: us-east-1, access_key_id: k, secret_access_key: s } }\nphases:\n  - id: p\n    steps:\n      - { id: a, s3: { connection: store, action: head, key: k }, timeout: 5s }\n');
    const run = () => {
      const r = runCopy(['run', 's3.yaml', '--no-tui', '--json', '--state-dir', join(dir, 'state-copy-s3')]);
      // The step ran (and failed on the refused port) in the thread.
      expect(r.stdout).toMatch(/"type":"step.finished".*"status":"failed".*ECONNREFUSED/);
      expect(r.stderr).not.toMatch(/code cache \w+ \(.*(clients|sdk)-/);
      // The SDK's warning that its later releases need Node 22 is silenced in the thread too.
      expect(r.stderr).not.toMatch(/NodeVersionSupportWarning|node >=22/);
      return r.stderr;
    };
    expect(run()).toMatch(/code cache absent \(.*s3-thread-/);
    expect(readdirSync(join(root, 'dist/.v8-cache')).some((n) => n.startsWith('s3-thread-'))).toBe(true);
    expect(run()).toMatch(/code cache accepted \(.*s3-thread-/);
  });

  it('s3 steps on this thread (RUNBOOK_S3_THREAD=0) read the SDK bundle, through a cache of its own, and not the clients bundle', () => {
    const { root, run: runCopy } = installedCopy('copy-sdk');
    writeFileSync(join(dir, 's3-here.yaml'), 'runbook: s\nconnections:\n  store: { s3: { endpoint: "http://127.0.0.1:1", bucket: b, region: us-east-1, access_key_id: k, secret_access_key: s } }\nphases:\n  - id: p\n    steps:\n      - { id: a, s3: { connection: store, action: head, key: k }, timeout: 5s }\n');
    const run = () => {
      const r = spawnSync(process.execPath, [join(root, 'bin/runbook.cjs'), 'run', 's3-here.yaml', '--no-tui', '--json', '--state-dir', join(dir, 'state-copy-sdk')], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, RUNBOOK_CODE_CACHE_DEBUG: '1', RUNBOOK_S3_THREAD: '0' },
      });
      // The step ran here (no thread started) and failed on the refused port.
      expect(r.stdout).toMatch(/"type":"step.finished".*"status":"failed".*ECONNREFUSED/);
      expect(r.stderr).not.toMatch(/code cache \w+ \(.*(clients|s3-thread)-/);
      return r.stderr;
    };
    expect(run()).toMatch(/code cache absent \(.*sdk-run-/);
    expect(readdirSync(join(root, 'dist/.v8-cache')).some((n) => n.startsWith('sdk-run-'))).toBe(true);
    expect(run()).toMatch(/code cache accepted \(.*sdk-run-/);
  });

  it("a run that speaks HTTP after its other clients loaded still reads every cache the last run wrote (undici's parser changes no V8 flag for good, src/util/undici.ts)", () => {
    const { run: runCopy } = installedCopy('copy-flags');
    // PostgreSQL first (the clients bundle loads), then HTTP (undici loads), with the s3 thread beside them.
    writeFileSync(
      join(dir, 'mixed.yaml'),
      [
        'runbook: m',
        'connections:',
        '  db: { postgres: { url: "postgres://u@127.0.0.1:1/d" } }',
        '  app: { http: { base_url: "http://127.0.0.1:1" } }',
        '  store: { s3: { endpoint: "http://127.0.0.1:1", bucket: b, region: us-east-1, access_key_id: k, secret_access_key: s } }',
        'phases:',
        '  - id: p',
        '    steps:',
        '      - { id: q, sql: { connection: db, query: SELECT 1 }, timeout: 5s, on_failure: continue }',
        '      - { id: h, http: { connection: app, url: /x }, irreversible: "a read", timeout: 5s, on_failure: continue }',
        '      - { id: o, needs: [], s3: { connection: store, action: head, key: k }, timeout: 5s, on_failure: continue }',
        '',
      ].join('\n'),
    );
    const run = () => {
      const r = runCopy(['run', 'mixed.yaml', '--no-tui', '--json', '--state-dir', join(dir, 'state-copy-flags')]);
      // Each step ran, and failed on the refused port.
      for (const id of ['q', 'h', 'o']) expect(r.stdout).toMatch(new RegExp(`"type":"step.finished"[^\\n]*"step":"${id}"[^\\n]*"status":"failed"`));
      return r.stderr;
    };
    run();
    const second = run();
    for (const bundle of ['runbook', 'clients', 's3-thread']) expect(second).toMatch(new RegExp(`code cache accepted \\(.*${bundle}-`));
    expect(second).not.toMatch(/code cache rejected/);
  });

  it("knows every command of the CLI, so each gets its own code cache (none falls into 'other')", () => {
    const help = runbook(['--help']);
    expect(help.status).toBe(0);
    const commands = [...help.stdout.split('Commands:')[1].matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]).filter((c) => c !== 'help');
    expect(commands.length).toBeGreaterThan(10);
    const source = readFileSync(BIN, 'utf8');
    const listed = JSON.parse(`[${/const COMMANDS = new Set\(\[([^\]]*)\]\)/.exec(source)![1].replace(/'/g, '"')}]`) as string[];
    expect(commands.filter((c) => !listed.includes(c))).toEqual([]);
  });

  it('validate and --help load no child_process (commander asks for it on a first spawn only, scripts/bundle.mjs)', () => {
    // A preload that writes, at exit, which of Node's own modules the process loaded.
    const preload = join(dir, 'modules.cjs');
    const list = join(dir, 'modules.txt');
    writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`);
    for (const args of [['validate', 'ok.yaml'], ['--help']]) {
      const r = spawnSync(process.execPath, ['-r', preload, BIN, ...args], { cwd: dir, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const loaded = readFileSync(list, 'utf8').split('\n');
      expect(loaded).toContain('NativeModule vm');
      expect(loaded.filter((m) => /child_process|dgram/.test(m))).toEqual([]);
    }
  });

  it("a run's first http step does not load Node's own fetch, nor HTTP/2 and TLS (of undici, only the parts the steps use load: src/util/undici.ts, scripts/bundle.mjs), and leaves V8's flags as Node started", async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      writeFileSync(
        join(dir, 'http.yaml'),
        ['runbook: http-once', 'title: One http step', 'connections:', '  app: { http: { base_url: "${{ env.APP_URL }}" } }', 'phases:', '  - id: p', '    steps:', '      - { id: get, http: { connection: app, url: /x } }', ''].join('\n'),
      );
      const preload = join(dir, 'modules-http.cjs');
      const list = join(dir, 'modules-http.txt');
      // The tag V8 checks code caches against (its version and flags): before the launcher, as it
      // compiles each bundle, and at the end.
      const tags = join(dir, 'tags-http.json');
      writeFileSync(
        preload,
        [
          "const v8 = require('node:v8'); const vm = require('node:vm'); const seen = [v8.cachedDataVersionTag()];",
          'const Script = vm.Script; vm.Script = function (...a) { seen.push(v8.cachedDataVersionTag()); return new Script(...a); };',
          `process.on('exit', () => { require('node:fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')); require('node:fs').writeFileSync(${JSON.stringify(tags)}, JSON.stringify([...seen, v8.cachedDataVersionTag()])); });`,
          '',
        ].join('\n'),
      );
      // Asynchronously: the server answers from this process.
      const child = spawn(process.execPath, ['-r', preload, BIN, 'run', 'http.yaml', '--state-dir', join(dir, 'st-http'), '--yes', '--no-tui'], {
        cwd: dir,
        env: { ...process.env, APP_URL: url },
        stdio: 'ignore',
      });
      const code = await new Promise((resolve) => child.on('exit', resolve));
      expect(code).toBe(0);
      expect(requests).toBe(1);
      const loaded = readFileSync(list, 'utf8').split('\n');
      expect(loaded).toContain('NativeModule http');
      expect(loaded.filter((m) => m.includes('internal/deps/undici'))).toEqual([]);
      // undici's HTTP/2 client loads on the first HTTP/2 connection only (a plain http:// one here).
      expect(loaded.filter((m) => /^NativeModule (http2|tls|_tls_wrap)$/.test(m))).toEqual([]);
      // A V8 flag left changed would make V8 refuse Node's own code cache of its built-in modules.
      const seen = JSON.parse(readFileSync(tags, 'utf8')) as number[];
      // Before, the CLI's and the clients' bundles, the end.
      expect(seen.length).toBeGreaterThanOrEqual(4);
      expect(new Set(seen).size).toBe(1);
    } finally {
      server.close();
    }
  });

  it("runs the bundle unless tsc built after the bundler last made or checked it (a build of examples/ alone keeps it)", () => {
    const { root, run } = installedCopy('stamp');
    const at = (name: string, seconds: number) => {
      const f = join(root, 'dist', name);
      if (!existsSync(f)) writeFileSync(f, '');
      utimesSync(f, seconds, seconds);
    };
    const usesBundle = () => {
      const r = run(['validate', 'ok.yaml']);
      expect(r.status, r.stderr).toBe(0);
      return /code cache \w+ \(.*runbook-validate-/.test(r.stderr);
    };
    const t = Math.floor(Date.now() / 1000) - 1000;
    at('runbook.bundle.cjs', t);
    at('.tsbuildinfo', t + 10);
    // tsc built after the bundle, and the bundler has not looked since: tsc's modules run.
    expect(usesBundle()).toBe(false);
    // The bundler found the bundle current after that build (only examples/ had changed).
    at('.bundle-checked', t + 20);
    expect(usesBundle()).toBe(true);
    // tsc built again, after the check.
    at('.tsbuildinfo', t + 30);
    expect(usesBundle()).toBe(false);
  });

  it('--version answers from package.json without the bundle', () => {
    const r = runbook(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.stderr).toBe('');
  });
});
