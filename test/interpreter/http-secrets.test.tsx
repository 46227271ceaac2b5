/**
 * Issue 11, secrets through http and URL encoding, through the real CLI against a real HTTP server
 * on loopback: a secret in a url's query or path, in `query:`, and an Authorization header built
 * from params never appear — raw, JSON-escaped, percent-encoded, form-encoded or in base64 — in the
 * error messages, the journal, report.md, `report` in every format, `--json`, the plain lines, a TUI
 * frame or `plan`. A path value with `../` stays inside its segment (spec §12).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cleanup, render } from 'ink-testing-library';
import { formEncode } from '../../src/dsl/expr/index.js';
import type { RunEvent } from '../../src/interpreter/events.js';
import { RunStore } from '../../src/tui/store.js';
import { App } from '../../src/tui/components/app.js';
import { assertBuilt, CLI, journalOf, runCli } from '../helpers/cli.js';
import { frameLines, settle, useFakeClock } from '../tui/helpers.js';

const TOKEN = 'S3cr3t/Tok+en=99"x&y';
const SPACED = 'my secret!';
const AUTH = 'Token alice:k3y-42';

let dir: string;
let server: Server;
let file: string;
const seen: string[] = [];

beforeAll(async () => {
  assertBuilt();
  dir = mkdtempSync(join(tmpdir(), 'runbook-http-secrets-'));
  server = createServer((req, res) => {
    seen.push(req.url ?? '');
    // The echo answers with what it received, headers included, as many test servers do.
    const status = req.url?.startsWith('/base/fail') ? 500 : 200;
    res.setHeader('set-cookie', ['sid=c00kie-Zz9; HttpOnly', 'theme=dark']);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ url: req.url, headers: req.headers }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  file = join(dir, 'http-secrets.yaml');
  writeFileSync(
    file,
    `runbook: http-secrets
params:
  q: { type: string, default: "../../admin?z=1#frag" }
  user: { type: string, default: alice }
  key: { type: string, default: k3y-42 }
secrets:
  tok: { env: MY_TOKEN }
  spaced: { env: MY_SPACED }
connections:
  api: { http: { base_url: "http://127.0.0.1:${port}/base", headers: { X-Api-Key: "key-\${{ params.key }}-\${{ params.user }}" } } }
phases:
  - id: main
    steps:
      - id: traversal
        http: { connection: api, url: "/p/\${{ params.q }}" }
        outputs: { url: result.json.url }
      - id: url-token
        on_failure: continue
        http: { connection: api, url: "/fail?t=\${{ secrets.tok }}" }
      - id: query-token
        on_failure: continue
        http: { connection: api, url: /fail, query: { s: "\${{ secrets.tok }}" } }
      - id: query-spaced
        on_failure: continue
        http: { connection: api, url: /fail, query: { s: "\${{ secrets.spaced }}" } }
      - id: path-token
        on_failure: continue
        http: { connection: api, url: "/fail/\${{ secrets.tok }}" }
      - id: auth-echo
        http: { connection: api, url: /echo, headers: { Authorization: "Token \${{ params.user }}:\${{ params.key }}" } }
        outputs: { seen: result.json.headers.authorization, key: result.json.headers.x-api-key, cookie: "result.headers['set-cookie'][0]" }
      - id: b64
        shell: { run: "printf '%s' \\"$MY_TOKEN\\" | base64 -w0; echo; printf '%s' \\"$MY_TOKEN\\" | base64 -w0 | tr '+/' '-_' | tr -d '='; echo" }
`,
  );
});
afterAll(async () => {
  cleanup();
  await new Promise((done) => server.close(done));
  rmSync(dir, { recursive: true, force: true });
});

const env = { MY_TOKEN: TOKEN, MY_SPACED: SPACED };

const b64 = (s: string) => Buffer.from(s).toString('base64');
const FORBIDDEN = [
  TOKEN,
  JSON.stringify(TOKEN).slice(1, -1),
  encodeURIComponent(TOKEN),
  formEncode(TOKEN),
  b64(TOKEN),
  Buffer.from(TOKEN).toString('base64url'),
  SPACED,
  formEncode(SPACED),
  encodeURIComponent(SPACED),
  AUTH,
  'alice:k3y-42',
  'key-k3y-42-alice',
  'c00kie-Zz9',
];

function expectNoSecret(where: string, text: string): void {
  for (const s of FORBIDDEN) expect(text.includes(s), `${where} holds ${JSON.stringify(s)}:\n${text.slice(0, 2000)}`).toBe(false);
}

describe('http: secrets and URL encoding through every output', () => {
  let events: RunEvent[];
  let stateDir: string;

  it('a --json run: nothing in clear in stdout, stderr, the journal, report.md, or any report format', async () => {
    stateDir = join(dir, 'state');
    const r = await runCli(['run', file, '--json', '--state-dir', stateDir], { env });
    expect(r.code, r.stderr).toBe(0);
    events = r.events;
    expectNoSecret('stdout', r.stdout);
    expectNoSecret('stderr', r.stderr);
    const runId = events[0].run;
    const runDir = join(stateDir, 'runs', runId);
    for (const f of readdirSync(runDir)) expectNoSecret(f, readFileSync(join(runDir, f), 'utf8'));
    expectNoSecret('journal', readFileSync(journalOf(stateDir, runId), 'utf8'));
    for (const format of ['md', 'json', 'junit', 'prometheus']) {
      const rep = await runCli(['report', runId, '--format', format, '--state-dir', stateDir]);
      expect(rep.code, rep.stderr).toBe(0);
      expectNoSecret(`report --format ${format}`, rep.stdout);
    }
    const finished = (id: string) => events.find((e) => e.type === 'step.finished' && e.step === id) as Record<string, any>;
    // The failures name the request, masked: the steps really failed with their URL in the message.
    for (const id of ['url-token', 'query-token', 'query-spaced', 'path-token']) {
      expect(finished(id)).toMatchObject({ status: 'failed', error: expect.stringMatching(/^http GET http:\/\/127\.0\.0\.1:\d+\/base\/fail.*\*\*\*.*: status 500/) });
    }
    expect(finished('auth-echo').outputs).toEqual({ seen: '***', key: '***', cookie: '***' });
    // The response's own Set-Cookie in the journaled result: every cookie a server sets counts as a credential.
    expect(finished('auth-echo').result.headers['set-cookie']).toEqual(['***', '***']);
    const b64out = events.filter((e) => e.type === 'step.output' && e.step === 'b64').map((e) => (e as { text: string }).text).join('');
    expect(b64out).toBe('***\n***\n');
  }, 60_000);

  it('the server received the real values, each encoded inside its own part of the URL', () => {
    expect(seen).toContain('/base/p/..%2F..%2Fadmin%3Fz%3D1%23frag');
    expect(seen.some((u) => u.startsWith('/admin'))).toBe(false);
    expect(seen).toContain(`/base/fail?t=${encodeURIComponent(TOKEN)}`);
    expect(seen).toContain(`/base/fail?s=${formEncode(TOKEN)}`);
    expect(seen).toContain('/base/fail?s=my+secret%21');
    expect(seen).toContain(`/base/fail/${encodeURIComponent(TOKEN)}`);
    const traversal = events.find((e) => e.type === 'step.finished' && e.step === 'traversal') as Record<string, any>;
    expect(traversal.outputs).toEqual({ url: '/base/p/..%2F..%2Fadmin%3Fz%3D1%23frag' });
  });

  it('a TUI frame of the run shows no secret', async () => {
    useFakeClock(Date.parse(events.at(-1)!.ts));
    const store = new RunStore();
    const ui = render(<App store={store} onInterrupt={() => {}} />);
    events.forEach((e) => store.push(e));
    store.finish();
    await settle(60);
    const frame = frameLines(ui.lastFrame()).join('\n');
    expect(frame).toContain('query-token');
    expectNoSecret('TUI frame', frame);
    vi.useRealTimers();
  });

  it('the plain --no-tui lines show no secret', async () => {
    const r = await runCli(['run', file, '--no-tui', '--state-dir', join(dir, 'state-plain')], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('***');
    expectNoSecret('plain stdout', r.stdout);
    expectNoSecret('plain stderr', r.stderr);
  }, 60_000);

  it('plan and plan --json show no secret, and the path value encoded', () => {
    for (const args of [[], ['--json']]) {
      const p = spawnSync(process.execPath, [CLI, 'plan', file, ...args], { env: { ...process.env, ...env, RUNBOOK_STATE_DIR: join(dir, 'state-plan') }, encoding: 'utf8' });
      expect(p.status, p.stderr).toBe(0);
      expectNoSecret(`plan ${args.join(' ')}`, p.stdout + p.stderr);
      expect(p.stdout).toContain('/p/..%2F..%2Fadmin%3Fz%3D1%23frag');
    }
  });
});
