/**
 * The notification connection kinds (spec §11): `slack`, `pagerduty` and `webhook` POST JSON through
 * an undici Agent made by the http step's `makeAgent` (one keep-alive pool per connection and run);
 * `smtp` sends through a nodemailer pool. undici and nodemailer load on the first open, never for
 * `validate` or `plan`. Descriptions never show a webhook's token, a routing key or a password.
 */
import type { Agent } from 'undici';
import type { Transporter } from 'nodemailer';
import { makeAgent } from '../http/connection.js';
import type { ConnectionKind, PreflightCheck } from '../types.js';
import { pagerdutyConnectionSchema, slackConnectionSchema, smtpConnectionSchema, webhookConnectionSchema } from './schema.js';

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

export interface SlackConfig {
  webhook_url: string;
}
export interface PagerDutyConfig {
  routing_key: string;
  url?: string;
}
export interface WebhookConfig {
  url: string;
  headers?: Record<string, string>;
}
export interface SmtpConfig {
  url: string;
  from: string;
  to: string | string[];
}

export interface SmtpMailer {
  /** The current pool; a cancelled send closes it and the next send opens a new one. */
  transporter(): Transporter;
  reset(): void;
  close(): void;
}

export type NotifyClient =
  | { kind: 'slack'; config: SlackConfig; agent: Agent }
  | { kind: 'pagerduty'; config: PagerDutyConfig; agent: Agent }
  | { kind: 'webhook'; config: WebhookConfig; agent: Agent }
  | { kind: 'smtp'; config: SmtpConfig; mailer: SmtpMailer };

export const NOTIFY_KINDS = ['slack', 'pagerduty', 'smtp', 'webhook'] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

/** scheme://host[:port]/path — no user info, no query (Slack's and many webhooks' tokens live in the path or query). */
export function safeUrl(url: string | undefined, keepPath = true): string {
  if (!url) return '(no url)';
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${keepPath ? u.pathname : ''}`;
  } catch {
    return '(invalid url)';
  }
}

/**
 * `plan --preflight` for Slack, PagerDuty and webhooks: the configuration only. Their one real check
 * would send a notification, so nothing is contacted; but an unset secret (an empty routing key or URL)
 * is found before the incident that needs it.
 */
function checkConfigured(fields: Record<string, string | undefined>, urlField: string | undefined, describe: string): PreflightCheck {
  for (const [field, value] of Object.entries(fields)) {
    if (!value || !value.trim()) return { target: describe, ok: false, detail: `${field} is empty (is the secret or variable it comes from set?)` };
  }
  if (urlField) {
    try {
      const u = new URL(fields[urlField]!);
      if (!/^https?:$/.test(u.protocol)) return { target: describe, ok: false, detail: `${urlField} is not an http(s) URL` };
    } catch {
      return { target: describe, ok: false, detail: `${urlField} is not a URL` };
    }
  }
  return { target: describe, ok: true, detail: 'configured (not contacted: the only check would send a notification)' };
}

function httpKind<K extends 'slack' | 'pagerduty' | 'webhook', C>(
  name: K,
  description: string,
  schema: ConnectionKind['schema'],
  describe: (c: C) => string,
  required: (c: C) => [Record<string, string | undefined>, string | undefined],
): ConnectionKind<C, Extract<NotifyClient, { kind: K }>> {
  return {
    name,
    description,
    schema,
    preflight: async (_client, config) => checkConfigured(...required(config), describe(config)),
    open: (config, ctx) => ({ kind: name, config, agent: makeAgent({}, ctx.baseDir) }) as unknown as Extract<NotifyClient, { kind: K }>,
    close: async (client) => void (await (client as { agent: Agent }).agent.close()),
    describe,
  };
}

export const slackConnection = httpKind<'slack', SlackConfig>(
  'slack',
  'A Slack incoming webhook (notify steps post their text to its channel).',
  slackConnectionSchema,
  // The path of a Slack webhook URL is its secret: show only the host.
  (c) => `Slack webhook ${safeUrl(c.webhook_url, false)}`,
  (c) => [{ webhook_url: c.webhook_url }, 'webhook_url'],
);

export const pagerdutyConnection = httpKind<'pagerduty', PagerDutyConfig>(
  'pagerduty',
  'A PagerDuty service through the Events API v2 (trigger, acknowledge, resolve).',
  pagerdutyConnectionSchema,
  (c) => `PagerDuty ${safeUrl(c.url ?? PAGERDUTY_EVENTS_URL)}`,
  (c) => [{ routing_key: c.routing_key, url: c.url || PAGERDUTY_EVENTS_URL }, 'url'],
);

export const webhookConnection = httpKind<'webhook', WebhookConfig>(
  'webhook',
  'An HTTP endpoint that receives a JSON POST per notification.',
  webhookConnectionSchema,
  (c) => `webhook ${safeUrl(c.url)}`,
  (c) => [{ url: c.url }, 'url'],
);

type Nodemailer = typeof import('nodemailer');

export const smtpConnection: ConnectionKind<SmtpConfig, Extract<NotifyClient, { kind: 'smtp' }>> = {
  name: 'smtp',
  description: 'A mail server (SMTP through nodemailer).',
  schema: smtpConnectionSchema,
  async open(config) {
    const nodemailer = ((await import('nodemailer')) as unknown as { default: Nodemailer }).default;
    // A pool of one: closing it is how a timed-out or cancelled send is stopped (nodemailer takes no AbortSignal).
    const make = () => nodemailer.createTransport(config.url, { pool: true, maxConnections: 1 } as never);
    let current: Transporter | undefined;
    const mailer: SmtpMailer = {
      transporter: () => (current ??= make()),
      reset: () => {
        current?.close();
        current = undefined;
      },
      close: () => mailer.reset(),
    };
    return { kind: 'smtp', config, mailer };
  },
  close: (client) => client.mailer.close(),
  /** Connect, EHLO and log in: nothing is sent. */
  async preflight(client, config): Promise<PreflightCheck> {
    const target = `smtp ${safeUrl(config.url, false)}`;
    try {
      await client.mailer.transporter().verify();
      return { target, ok: true, detail: 'server answers and accepts the login' };
    } catch (err) {
      return { target, ok: false, detail: (err as Error).message };
    }
  },
  describe: (c) => `smtp ${safeUrl(c.url, false)}`,
};
