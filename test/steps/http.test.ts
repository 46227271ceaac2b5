import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpConnection, HttpConnectionConfig } from '../../src/steps/http/connection.js';
import { httpConnection, httpStep, type HttpBody } from '../../src/steps/http/index.js';
import { failureOf, stepHarness } from '../helpers/step-context.js';

let dir: string;
let server: Server;
let base: string;
/** Resolves when the server sees the socket of a /hang request close. */
let hangClosed: Promise<void> = Promise.resolve();
let hangArrived: () => void = () => {};
const opened: Promise<HttpConnection>[] = [];

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const send = (status: number, body: string, type = 'text/plain') => {
    res.writeHead(status, { 'content-type': type, 'x-test': 'yes' });
    res.end(body);
  };
  if (url.pathname === '/json') return send(200, JSON.stringify({ ok: true, items: [1, 2] }), 'application/json; charset=utf-8');
  if (url.pathname === '/echo' || url.pathname.startsWith('/api/')) {
    const body = await readAll(req);
    return send(
      200,
      JSON.stringify({ method: req.method, path: url.pathname, query: url.search, headers: req.headers, body }),
      'application/json',
    );
  }
  if (url.pathname === '/text-json') return send(200, '[{"a":1}]');
  if (url.pathname === '/plain') return send(200, 'hello');
  if (url.pathname.startsWith('/status/')) {
    return send(Number(url.pathname.slice(8)), `upstream failed:\n  database   unreachable ${'x'.repeat(300)}`);
  }
  if (url.pathname.startsWith('/redirect/')) {
    const n = Number(url.pathname.slice(10));
    if (n === 0) return send(200, `arrived by ${req.method}`);
    res.writeHead(302, { location: `/redirect/${n - 1}` });
    return void res.end();
  }
  if (url.pathname === '/big') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('a'.repeat(3 * 1024 * 1024));
    return;
  }
  if (url.pathname === '/hang') {
    hangClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
    hangArrived();
    return; // never answers
  }
  send(404, 'not found');
}

function harness(connections: Record<string, HttpConnectionConfig> = {}) {
  return stepHarness({
    baseDir: dir,
    stepId: 'http-step',
    connections: {
      kind: 'http',
      open: (name) => {
        const conn = Promise.resolve(httpConnection.open(connections[name], { runId: 'test-run', baseDir: dir, env: process.env }));
        opened.push(conn);
        return conn;
      },
    },
  });
}

const exec = (body: HttpBody, h = harness()) => httpStep.execute(body, h.ctx);

async function listen(s: Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

async function closedPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'runbook-http-test-'));
  server = createServer((req, res) => void handle(req, res));
  base = `http://127.0.0.1:${await listen(server)}`;
});

afterAll(async () => {
  for (const conn of opened) await httpConnection.close!(await conn);
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

describe('http step against a local server', () => {
  it('GETs JSON', async () => {
    const result = await exec({ url: `${base}/json` });
    expect(result).toMatchObject({
      status: 200,
      body: '{"ok":true,"items":[1,2]}',
      json: { ok: true, items: [1, 2] },
      headers: { 'content-type': 'application/json; charset=utf-8', 'x-test': 'yes' },
      url: `${base}/json`,
    });
    expect(result.duration_ms).toBeGreaterThanOrEqual(0);
    expect(result.duration_ms).toBeLessThan(5000);
  });

  it('parses a JSON body whatever its content-type, and leaves text alone', async () => {
    expect((await exec({ url: `${base}/text-json` })).json).toEqual([{ a: 1 }]);
    const plain = await exec({ url: `${base}/plain` });
    expect(plain.body).toBe('hello');
    expect(plain).not.toHaveProperty('json');
  });

  it('POSTs json, form and raw bodies with their content types', async () => {
    const json = await exec({ method: 'POST', url: `${base}/echo`, json: { replicas: 3, name: 'trading' } });
    expect(json.json).toMatchObject({
      method: 'POST',
      body: '{"replicas":3,"name":"trading"}',
      headers: { 'content-type': 'application/json' },
    });
    const form = await exec({ method: 'POST', url: `${base}/echo`, form: { user: 'ops', note: 'a b&c' } });
    expect(form.json).toMatchObject({ body: 'user=ops&note=a+b%26c', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const raw = await exec({ method: 'put', url: `${base}/echo`, body: 'line1\nline2', headers: { 'Content-Type': 'text/csv' } });
    expect(raw.json).toMatchObject({ method: 'PUT', body: 'line1\nline2', headers: { 'content-type': 'text/csv' } });
    const both = await failureOf(exec({ method: 'POST', url: `${base}/echo`, json: {}, body: 'x' }));
    expect(both.message).toBe('http: give one of json, body, form (got json, body)');
  });

  it('joins a relative url to the base_url path, merges headers and adds query parameters', async () => {
    const h = harness({ app: { base_url: `${base}/api/`, headers: { Authorization: 'Bearer t0k', 'X-Env': 'prod' } } });
    const result = await exec(
      {
        connection: 'app',
        url: '/v1/health',
        headers: { 'x-env': 'drill' },
        query: { verbose: true, tag: ['a', 'b c'], n: 2 },
      },
      h,
    );
    expect(result.url).toBe(`${base}/api/v1/health?verbose=true&tag=a&tag=b+c&n=2`);
    expect(result.json).toMatchObject({
      path: '/api/v1/health',
      query: '?verbose=true&tag=a&tag=b+c&n=2',
      headers: { authorization: 'Bearer t0k', 'x-env': 'drill' },
    });
    // An absolute url ignores the base_url but keeps the connection's headers.
    const abs = await exec({ connection: 'app', url: `${base}/echo` }, h);
    expect(abs.json).toMatchObject({ path: '/echo', headers: { authorization: 'Bearer t0k' } });
    const rel = await failureOf(exec({ url: '/v1/health' }));
    expect(rel.message).toContain("url '/v1/health' is relative");
  });

  it('accepts the statuses listed in expect_status', async () => {
    expect((await exec({ url: `${base}/status/503`, expect_status: [200, 503] })).status).toBe(503);
    expect((await exec({ url: `${base}/status/404`, expect_status: 404 })).status).toBe(404);
  });

  it('fails on an unexpected status, naming method, url and status, with the result kept', async () => {
    const err = await failureOf(exec({ method: 'DELETE', url: `${base}/status/500` }));
    expect(err.code).toBe('HTTP_STATUS');
    expect(err.message).toBe(
      `http DELETE ${base}/status/500: status 500, expected 2xx: upstream failed: database unreachable ${'x'.repeat(162)}…`,
    );
    expect(err.result).toMatchObject({ status: 500, headers: { 'x-test': 'yes' } });
    expect(err.result!.body).toContain('upstream failed:\n  database');
    const listed = await failureOf(exec({ url: `${base}/status/200`, expect_status: [201, 202] }));
    expect(listed.message).toMatch(/: status 200, expected 201 or 202: /);
  });

  it('follows up to 5 redirects, or none when told', async () => {
    expect(await exec({ url: `${base}/redirect/5` })).toMatchObject({ status: 200, body: 'arrived by GET', url: `${base}/redirect/5` });
    const tooMany = await failureOf(exec({ url: `${base}/redirect/6` }));
    expect(tooMany.message).toBe(`http GET ${base}/redirect/6: status 302, expected 2xx`);
    const noFollow = await exec({ url: `${base}/redirect/1`, follow_redirects: false, expect_status: 302 });
    expect(noFollow.headers).toMatchObject({ location: '/redirect/0' });
    const h = harness({ app: { base_url: base } });
    expect(await exec({ connection: 'app', url: '/redirect/2' }, h)).toMatchObject({ status: 200 });
  });

  it('keeps only the first MiB of a large body', async () => {
    const result = await exec({ url: `${base}/big` });
    expect(result.body).toHaveLength(1024 * 1024);
    expect(result.body_truncated).toBe(true);
  });

  it('an abort cancels a hanging request: the step rejects with the reason and the server sees the socket close', async () => {
    for (const connection of [undefined, 'app']) {
      const h = harness({ app: { base_url: base } });
      const arrived = new Promise<void>((r) => (hangArrived = r));
      const running = exec({ connection, url: connection ? '/hang' : `${base}/hang` }, h);
      await arrived;
      const reason = new Error('step timed out after 200ms');
      const started = Date.now();
      h.controller.abort(reason);
      await expect(running).rejects.toBe(reason);
      await hangClosed;
      expect(Date.now() - started).toBeLessThan(2000);
    }
  });

  it('reports a refused connection', async () => {
    const port = await closedPort();
    const err = await failureOf(exec({ url: `http://127.0.0.1:${port}/health` }));
    expect(err.message).toMatch(new RegExp(`^http GET http://127\\.0\\.0\\.1:${port}/health: ECONNREFUSED`));
    expect(err.result).toBeUndefined();
  });

  it('preflight: reachable below 500, falling back to GET, unreachable when refused', async () => {
    const ok = httpConnection.open({ base_url: `${base}/plain` }, { runId: 'r', baseDir: dir, env: {} }) as HttpConnection;
    const bad = httpConnection.open({ base_url: `${base}/status/502` }, { runId: 'r', baseDir: dir, env: {} }) as HttpConnection;
    const port = await closedPort();
    const refused = httpConnection.open({ base_url: `http://127.0.0.1:${port}` }, { runId: 'r', baseDir: dir, env: {} }) as HttpConnection;
    try {
      expect(await httpConnection.preflight!(ok, ok.config)).toEqual({ target: `${base}/plain`, ok: true, detail: 'HTTP 200' });
      expect(await httpConnection.preflight!(bad, bad.config)).toEqual({ target: `${base}/status/502`, ok: false, detail: 'HTTP 502' });
      expect(await httpConnection.preflight!(refused, refused.config)).toMatchObject({ ok: false, detail: expect.stringMatching(/^ECONNREFUSED/) });
    } finally {
      await Promise.all([ok, bad, refused].map((c) => httpConnection.close!(c)));
    }
  });

  it('renders a plan line', () => {
    expect(httpStep.render({ connection: 'app', url: '/actuator/health', expect_status: [200, 503] })).toBe(
      'GET app:/actuator/health (expect 200, 503)',
    );
  });
});

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
if (!hasOpenssl) {
  if (process.env.CI === 'true') throw new Error('openssl is required in CI (it makes the TLS tests\' certificate)');
  console.warn('skipping TLS tests: openssl not found (needed to make a self-signed certificate)');
}

describe.skipIf(!hasOpenssl)('http step over TLS with a self-signed certificate', () => {
  let https: Server;
  let tlsBase: string;
  beforeAll(async () => {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    https = createHttpsServer(
      { cert: await readFile(join(dir, 'cert.pem')), key: await readFile(join(dir, 'key.pem')) },
      (req, res) => void handle(req, res),
    ) as unknown as Server;
    tlsBase = `https://127.0.0.1:${await listen(https)}`;
  });
  afterAll(async () => {
    https.closeAllConnections();
    await new Promise((r) => https.close(r));
  });

  it('refuses the certificate by default, accepts it with insecure_tls or its CA in ca_file', async () => {
    const refused = await failureOf(exec({ url: `${tlsBase}/json` }));
    expect(refused.message).toMatch(/^http GET https:\/\/127\.0\.0\.1:\d+\/json: DEPTH_ZERO_SELF_SIGNED_CERT/);
    expect((await exec({ url: `${tlsBase}/json`, insecure_tls: true })).status).toBe(200);
    expect((await exec({ url: `${tlsBase}/json`, ca_file: 'cert.pem' })).json).toEqual({ ok: true, items: [1, 2] });
    const h = harness({ secure: { base_url: tlsBase, ca_file: 'cert.pem' } });
    expect((await exec({ connection: 'secure', url: '/json' }, h)).status).toBe(200);
    const missing = await failureOf(exec({ url: `${tlsBase}/json`, ca_file: 'nope.pem' }));
    expect(missing.message).toMatch(/cannot read ca_file: ENOENT/);
  });
});
