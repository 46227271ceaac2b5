/**
 * A local stand-in for Slack, PagerDuty and any webhook, on 127.0.0.1 and a free port: it records
 * every request (method, path, headers, body) and answers as each service documents (Slack `ok`,
 * PagerDuty 202 `{"status":"success","message":"Event processed","dedup_key":…}`, a webhook 200
 * with an id), and keeps PagerDuty incidents by dedup key as PagerDuty would (triggered →
 * acknowledged → resolved). The sandbox demo starts one so runbooks page and post for real; tests
 * script faults with `failNext` (answer a status) and `hangNext` (never answer).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
  body: string;
  at: string;
  /** What was answered. */
  status: number;
}

export interface Incident {
  dedup_key: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  summary?: string;
  severity?: string;
  events: string[];
}

export interface NotifyReceiver {
  url: string;
  /** The URLs and the routing key for runbooks: SLACK_WEBHOOK_URL, PAGERDUTY_URL, PAGERDUTY_ROUTING_KEY, WEBHOOK_URL. */
  env: Record<string, string>;
  requests: ReceivedRequest[];
  /** Requests whose path starts with the prefix (`/slack`, `/pagerduty`, `/webhook`). */
  to(prefix: string): ReceivedRequest[];
  incidents(): Incident[];
  /** The next `count` requests are answered `status` (recorded too). */
  failNext(status: number, count?: number): void;
  /** The next `count` requests are never answered (the connection stays open until the client gives up). */
  hangNext(count?: number): void;
  /** Every answer from now on comes `ms` later, as a real service's round trip does (0: at once). */
  setLatency(ms: number): void;
  /** One line per request, for the demo to show what was sent. */
  describe(): string[];
  stop(): Promise<void>;
}

export const SANDBOX_ROUTING_KEY = 'R0UTINGKEYSANDBOX00000000000000';

export async function startNotifyReceiver(): Promise<NotifyReceiver> {
  const requests: ReceivedRequest[] = [];
  const incidents = new Map<string, Incident>();
  const faults: ({ kind: 'status'; status: number } | { kind: 'hang' })[] = [];
  const hanging = new Set<ServerResponse>();
  let ids = 0;
  let latency = 0;
  const delayed = new Set<NodeJS.Timeout>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (latency === 0) return answer();
      const timer = setTimeout(() => {
        delayed.delete(timer);
        answer();
      }, latency);
      delayed.add(timer);
    });
    const answer = () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const path = req.url ?? '/';
      const record = (status: number) =>
        requests.push({ method: req.method ?? '', path, headers: req.headers, json, body, at: new Date().toISOString(), status });
      const fault = faults.shift();
      if (fault?.kind === 'hang') {
        record(0);
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      if (fault?.kind === 'status') {
        record(fault.status);
        res.writeHead(fault.status, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', message: 'injected failure' }));
        return;
      }
      if (path.startsWith('/slack')) {
        record(200);
        res.writeHead(200, { 'content-type': 'text/html' }).end('ok');
      } else if (path.startsWith('/pagerduty')) {
        const answer = pagerduty(json, incidents);
        record(answer.status);
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      } else if (path.startsWith('/webhook')) {
        record(200);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `msg-${++ids}` }));
      } else {
        record(404);
        res.writeHead(404).end();
      }
    };
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    env: {
      SLACK_WEBHOOK_URL: `${url}/slack/services/T0SANDBOX/B0SANDBOX/sandboxtoken`,
      PAGERDUTY_URL: `${url}/pagerduty/v2/enqueue`,
      PAGERDUTY_ROUTING_KEY: SANDBOX_ROUTING_KEY,
      WEBHOOK_URL: `${url}/webhook/incidents`,
    },
    requests,
    to: (prefix) => requests.filter((r) => r.path.startsWith(prefix)),
    incidents: () => [...incidents.values()],
    failNext: (status, count = 1) => faults.push(...Array.from({ length: count }, () => ({ kind: 'status' as const, status }))),
    hangNext: (count = 1) => faults.push(...Array.from({ length: count }, () => ({ kind: 'hang' as const }))),
    setLatency: (ms) => {
      latency = ms;
    },
    describe: () =>
      requests.map((r) => {
        const j = r.json as Record<string, any> | undefined;
        if (r.path.startsWith('/pagerduty')) return `PagerDuty ${j?.event_action} ${j?.dedup_key}${j?.payload?.summary ? `: ${j.payload.summary}` : ''} → ${r.status}`;
        if (r.path.startsWith('/slack')) return `Slack: ${j?.text} → ${r.status}`;
        return `${r.method} ${r.path} → ${r.status}`;
      }),
    async stop() {
      for (const timer of delayed) clearTimeout(timer);
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Events API v2 as PagerDuty documents it: 202 for a valid event, 400 with `errors` otherwise. */
function pagerduty(json: unknown, incidents: Map<string, Incident>): { status: number; body: unknown } {
  const e = json as { routing_key?: string; event_action?: string; dedup_key?: string; payload?: { summary?: string; source?: string; severity?: string } } | undefined;
  const errors: string[] = [];
  if (!e?.routing_key) errors.push("'routing_key' is missing.");
  if (!['trigger', 'acknowledge', 'resolve'].includes(String(e?.event_action))) errors.push("'event_action' is invalid.");
  if (e?.event_action === 'trigger') {
    if (!e.payload?.summary) errors.push("'payload.summary' is missing.");
    if (!e.payload?.source) errors.push("'payload.source' is missing.");
    if (!['critical', 'error', 'warning', 'info'].includes(String(e.payload?.severity))) errors.push("'payload.severity' is invalid.");
  } else if (!e?.dedup_key) errors.push("'dedup_key' is missing.");
  if (errors.length) return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } };
  const key = e!.dedup_key ?? `generated-${incidents.size + 1}`;
  const known = incidents.get(key);
  if (e!.event_action === 'trigger') {
    if (!known || known.status === 'resolved') incidents.set(key, { dedup_key: key, status: 'triggered', summary: e!.payload!.summary, severity: e!.payload!.severity, events: ['trigger'] });
    else known.events.push('trigger');
  } else if (known && known.status !== 'resolved') {
    known.status = e!.event_action === 'resolve' ? 'resolved' : 'acknowledged';
    known.events.push(e!.event_action!);
  }
  return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: key } };
}
