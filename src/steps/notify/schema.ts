/**
 * JSON Schema of the `notify` step body and of its four connection kinds (spec §11). One body shape
 * for every kind: which fields a kind reads is decided when the step runs, because a body names its
 * connection by name and the kind is only known from `connections:`.
 */
import type { JsonSchema } from '../../dsl/json-schema.js';
import { headersSchema } from '../http/connection.js';

export type PagerDutyEvent = 'trigger' | 'acknowledge' | 'resolve';

export interface NotifyBody {
  connection: string;
  text?: string;
  summary?: string;
  event?: PagerDutyEvent;
  severity?: string;
  dedup_key?: string;
  source?: string;
  component?: string;
  group?: string;
  class?: string;
  details?: Record<string, unknown>;
  subject?: string;
  to?: string | string[];
  json?: unknown;
}

export const SEVERITIES = ['P0', 'P1', 'P2', 'P3', 'critical', 'error', 'warning', 'info'];

const text = (description: string) => ({ type: 'string', description });
const addresses = (description: string) => ({
  description,
  anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }],
});

export const notifyBodySchema: JsonSchema = {
  type: 'object',
  description: 'Send a notification: page through PagerDuty, post to Slack or a webhook, or send a mail.',
  additionalProperties: false,
  required: ['connection'],
  properties: {
    connection: text('Name of a `slack`, `pagerduty`, `smtp` or `webhook` connection under `connections`.'),
    text: text('The message (Slack text, mail body, webhook `text`; PagerDuty: the summary when `summary` is not given).'),
    summary: text('PagerDuty: the incident summary (up to 1024 characters). Elsewhere: the message when `text` is not given.'),
    event: { enum: ['trigger', 'acknowledge', 'resolve'], description: 'PagerDuty event action (default trigger). A webhook receives it as `event`.' },
    severity: {
      enum: SEVERITIES,
      description: 'P0 → critical, P1 → error, P2 → warning, P3 → info (PagerDuty severities are accepted as is). Default critical for a trigger.',
    },
    dedup_key: text('PagerDuty: the incident key. Default: the run id, so a later `event: resolve` resolves the incident this run opened.'),
    source: text('PagerDuty: the affected system (default: this host name).'),
    component: text('PagerDuty: the component affected (payload.component).'),
    group: text('PagerDuty: the logical group of components (payload.group).'),
    class: text('PagerDuty: the class or type of the event (payload.class).'),
    details: { type: 'object', description: 'PagerDuty: custom_details of a trigger. A webhook receives it as `details`.' },
    subject: text('Mail subject (default: the first line of the message).'),
    to: addresses("Mail recipients instead of the connection's `to`."),
    json: { description: 'Webhook: the exact JSON body to send instead of the default payload.' },
  },
};

export const slackConnectionSchema: JsonSchema = {
  type: 'object',
  description: 'A Slack incoming webhook.',
  additionalProperties: false,
  required: ['webhook_url'],
  properties: {
    webhook_url: text('The incoming webhook URL (https://hooks.slack.com/services/…). It holds a token: take it from a secret.'),
  },
};

export const pagerdutyConnectionSchema: JsonSchema = {
  type: 'object',
  description: 'A PagerDuty service, through the Events API v2.',
  additionalProperties: false,
  required: ['routing_key'],
  properties: {
    routing_key: text("The service's integration (routing) key: take it from a secret."),
    url: text('The Events API endpoint (default https://events.pagerduty.com/v2/enqueue).'),
  },
};

export const smtpConnectionSchema: JsonSchema = {
  type: 'object',
  description: 'A mail server (SMTP, through nodemailer).',
  additionalProperties: false,
  required: ['url', 'from', 'to'],
  properties: {
    url: text('smtp://user:password@host:587 (STARTTLS when offered) or smtps://host:465. The password belongs in a secret.'),
    from: text('Sender address, e.g. "runbook <dr@example.com>".'),
    to: addresses('Recipient address(es).'),
  },
};

export const webhookConnectionSchema: JsonSchema = {
  type: 'object',
  description: 'Any HTTP endpoint that takes a JSON POST.',
  additionalProperties: false,
  required: ['url'],
  properties: {
    url: text('The URL the JSON payload is POSTed to.'),
    headers: { ...headersSchema, description: 'Headers sent with every notification (e.g. Authorization from a secret).' },
  },
};
