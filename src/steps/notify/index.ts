/**
 * The `notify` step type (spec §11): page through PagerDuty (trigger, acknowledge, resolve), post to
 * Slack or a webhook, or send a mail. The connection's kind decides the payload; the sending code
 * (undici, nodemailer) is imported on the first execute. The text sent has the run's secrets masked,
 * as the journal has: a chat channel is no place for a password.
 */
import { notifyBodySchema, type NotifyBody } from './schema.js';
import { NOTIFY_KINDS, type NotifyClient } from './connections.js';
import type { StepContext, StepType } from '../types.js';

export { NOTIFY_KINDS, pagerdutyConnection, slackConnection, smtpConnection, webhookConnection, type NotifyClient } from './connections.js';
export type { NotifyBody } from './schema.js';

let sender: Promise<typeof import('./send.js')> | undefined;
const loadSend = () => (sender ??= import('./send.js'));

const quote = (s: string) => JSON.stringify(s.length > 120 ? `${s.slice(0, 119)}…` : s);

/** What would be sent, for `plan` and `--step`: the event, the severity, the key and the message. */
export function renderNotify(b: NotifyBody): string {
  const parts = [`notify ${b.connection}:`];
  const pagerdutyLike = b.event !== undefined || b.severity !== undefined || b.dedup_key !== undefined;
  if (pagerdutyLike) parts.push(b.event ?? 'trigger');
  if (b.severity) parts.push(b.severity);
  const message = b.text ?? b.summary;
  if (message !== undefined) parts.push(quote(message));
  if (b.subject) parts.push(`subject ${quote(b.subject)}`);
  if (b.to) parts.push(`to ${[b.to].flat().join(', ')}`);
  if (pagerdutyLike) parts.push(`dedup_key ${b.dedup_key ?? '<run id>'}`);
  if (b.json !== undefined) parts.push(JSON.stringify(b.json).slice(0, 120));
  return parts.join(' ');
}

function maskBody(b: NotifyBody, mask: (text: string) => string): NotifyBody {
  const deep = (v: unknown): unknown =>
    typeof v === 'string' ? mask(v) : Array.isArray(v) ? v.map(deep) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x)])) : v;
  const { connection, ...rest } = b;
  return { connection, ...(deep(rest) as Omit<NotifyBody, 'connection'>) };
}

async function executeNotify(b: NotifyBody, ctx: StepContext): Promise<Record<string, unknown>> {
  const client = await ctx.connection<NotifyClient>(b.connection, NOTIFY_KINDS);
  const body = ctx.mask ? maskBody(b, ctx.mask) : b;
  return (await loadSend()).sendNotification(body, client, ctx);
}

export const notifyStep: StepType<NotifyBody> = {
  name: 'notify',
  description: 'A notification: a PagerDuty event, a Slack message, a webhook POST or a mail.',
  schema: notifyBodySchema,
  sideEffects: true,
  connectionKind: NOTIFY_KINDS,
  irreversible: 'a message cannot be unsent (send another one to correct it)',
  render: renderNotify,
  execute: executeNotify,
};
