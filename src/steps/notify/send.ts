/**
 * Sending a notification: the HTTP kinds through undici and the http step's body reader, a mail
 * through the connection's nodemailer pool. Imported on the first execute, so `validate` and `plan`
 * load neither. A status other than 2xx fails the attempt (the step's `retry` sends again); the
 * step's timeout or an abort cancels the request, or closes the mail pool mid-send.
 */
import { hostname } from 'node:os';
import { loadUndici } from '../../util/undici.js';
import { describeHttpError } from '../http/connection.js';
import { excerpt, parseJson, readBody } from '../http/execute.js';
import { StepFailure, type StepContext } from '../types.js';
import { safeUrl, type NotifyClient } from './connections.js';
import { buildNotification, type HttpNotification, type MailNotification } from './payloads.js';
import type { NotifyBody } from './schema.js';

export async function sendNotification(b: NotifyBody, client: NotifyClient, ctx: StepContext): Promise<Record<string, unknown>> {
  const n = buildNotification(client, b, { runId: ctx.runId, stepId: ctx.stepId, host: hostname() });
  const started = performance.now();
  try {
    const answer = n.kind === 'smtp' ? await sendMail(n, client as Extract<NotifyClient, { kind: 'smtp' }>, ctx) : await post(n, client as Extract<NotifyClient, { kind: 'slack' | 'pagerduty' | 'webhook' }>, b, ctx);
    return { kind: n.kind, ...answer, duration_ms: Math.round(performance.now() - started) };
  } catch (err) {
    // Cancellation is the interpreter's to report (timed_out / cancelled): hand its reason back unchanged.
    if (ctx.signal.aborted) throw ctx.signal.reason ?? err;
    if (err instanceof StepFailure) throw err;
    throw new StepFailure(`notify ${b.connection} (${n.kind}${n.kind === 'smtp' ? '' : ` ${safeUrl(n.url, n.kind !== 'slack')}`}): ${describeHttpError(err)}`);
  }
}

async function post(n: HttpNotification, client: Extract<NotifyClient, { agent: unknown }>, b: NotifyBody, ctx: StepContext): Promise<Record<string, unknown>> {
  const res = await loadUndici().request(n.url, { method: 'POST', headers: n.headers, body: JSON.stringify(n.json), dispatcher: client.agent, signal: ctx.signal });
  const { text } = await readBody(res.body);
  const json = parseJson(text, String(res.headers['content-type'] ?? '')) as Record<string, unknown> | undefined;
  const id = n.kind === 'pagerduty' ? json?.dedup_key : json && typeof json === 'object' ? json.id : undefined;
  const result: Record<string, unknown> = {
    status: res.statusCode,
    ...(id !== undefined ? { id } : {}),
    ...(n.kind === 'pagerduty' ? { event: (n.json as { event_action: string }).event_action, dedup_key: (n.json as { dedup_key: string }).dedup_key } : {}),
    ...(typeof json?.message === 'string' ? { message: json.message } : {}),
    body: text,
    ...(json !== undefined ? { json } : {}),
  };
  if (res.statusCode < 200 || res.statusCode >= 300) {
    const where = n.kind === 'slack' ? 'Slack' : n.kind === 'pagerduty' ? 'PagerDuty' : safeUrl(n.url);
    throw new StepFailure(`notify ${b.connection}: ${where} answered ${res.statusCode}, expected 2xx${text ? `: ${excerpt(text)}` : ''}`, result, 'NOTIFY_STATUS');
  }
  return result;
}

async function sendMail(n: MailNotification, client: Extract<NotifyClient, { kind: 'smtp' }>, ctx: StepContext): Promise<Record<string, unknown>> {
  const sending = client.mailer.transporter().sendMail({ from: n.from, to: n.to, subject: n.subject, text: n.text });
  // After an abort the pool is closed and the send rejects: nobody waits for that rejection.
  sending.catch(() => {});
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      client.mailer.reset();
      reject(ctx.signal.reason);
    };
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    const info = (await Promise.race([sending, aborted])) as { response?: string; messageId?: string; accepted?: unknown[]; rejected?: unknown[] };
    return { status: info.response, id: info.messageId, accepted: (info.accepted ?? []).map(String), rejected: (info.rejected ?? []).map(String) };
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    throw new StepFailure(`notify (smtp): ${(err as Error).message}`);
  } finally {
    if (onAbort) ctx.signal.removeEventListener('abort', onAbort);
  }
}
