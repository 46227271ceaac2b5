/**
 * What a notification sends, per kind, in each service's documented format. Pure: `plan` renders
 * the same objects that `execute` sends.
 * - Slack incoming webhook: `{"text": …}`, with `&`, `<`, `>` escaped as Slack's message formatting asks.
 * - PagerDuty Events API v2: `{routing_key, event_action, dedup_key, payload: {summary, source, severity, …}, client}`
 *   for a trigger; `{routing_key, event_action, dedup_key}` for acknowledge and resolve.
 * - webhook: `{run, step, text, event?, severity?, dedup_key, details?}`, or the step's `json` as is.
 * - smtp: a plain-text mail.
 */
import { StepFailure } from '../types.js';
import type { NotifyBody } from './schema.js';
import type { NotifyKind, PagerDutyConfig, SlackConfig, SmtpConfig, WebhookConfig } from './connections.js';
import { PAGERDUTY_EVENTS_URL } from './connections.js';

export interface HttpNotification {
  kind: 'slack' | 'pagerduty' | 'webhook';
  url: string;
  headers: Record<string, string>;
  json: unknown;
}

export interface MailNotification {
  kind: 'smtp';
  from: string;
  to: string[];
  subject: string;
  text: string;
}

export type Notification = HttpNotification | MailNotification;

export interface NotifyOrigin {
  runId: string;
  stepId: string;
  host: string;
}

const FIELDS: Record<NotifyKind, (keyof NotifyBody)[]> = {
  slack: ['text', 'summary'],
  pagerduty: ['text', 'summary', 'event', 'severity', 'dedup_key', 'source', 'component', 'group', 'class', 'details'],
  webhook: ['text', 'summary', 'event', 'severity', 'dedup_key', 'details', 'json'],
  smtp: ['text', 'summary', 'subject', 'to'],
};

const PD_SEVERITY: Record<string, string> = { P0: 'critical', P1: 'error', P2: 'warning', P3: 'info' };
const SUMMARY_LIMIT = 1024;

/** PagerDuty's severity for a runbook severity (P0–P3) or a PagerDuty one. */
export const pagerdutySeverity = (s: string | undefined): string => (s === undefined ? 'critical' : (PD_SEVERITY[s] ?? s));

/** Slack reads `&`, `<` and `>` as control characters; the rest is sent as is. */
export const slackEscape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export type NotifyTarget =
  | { kind: 'slack'; config: SlackConfig }
  | { kind: 'pagerduty'; config: PagerDutyConfig }
  | { kind: 'webhook'; config: WebhookConfig }
  | { kind: 'smtp'; config: SmtpConfig };

/** A body field the connection's kind does not read is a mistake worth a failure, not a silent drop. */
function checkFields(b: NotifyBody, kind: NotifyKind): void {
  const extra = (Object.keys(b) as (keyof NotifyBody)[]).filter((k) => k !== 'connection' && b[k] !== undefined && !FIELDS[kind].includes(k));
  if (extra.length) {
    throw new StepFailure(`notify ${b.connection}: ${extra.join(', ')} ${extra.length > 1 ? 'are' : 'is'} not read by a ${kind} connection (it reads ${FIELDS[kind].join(', ')})`, undefined, 'BODY_INVALID');
  }
}

function messageOf(b: NotifyBody, kind: string): string {
  const m = b.text ?? b.summary;
  if (m === undefined || m === '') throw new StepFailure(`notify ${b.connection}: a ${kind} notification needs \`text\` (or \`summary\`)`, undefined, 'BODY_INVALID');
  return m;
}

const list = (v: string | string[]): string[] => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean);

const REQUIRED: Record<NotifyKind, string> = { slack: 'webhook_url', pagerduty: 'routing_key', webhook: 'url', smtp: 'url' };

export function buildNotification(target: NotifyTarget, b: NotifyBody, origin: NotifyOrigin): Notification {
  checkFields(b, target.kind);
  // An unset secret or variable resolves to '': say so, rather than send a request that cannot succeed.
  const field = REQUIRED[target.kind];
  const value = (target.config as unknown as Record<string, unknown>)[field];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new StepFailure(`notify ${b.connection}: the ${target.kind} connection's ${field} is empty (is the secret or variable it comes from set?)`, undefined, 'NOTIFY_UNCONFIGURED');
  }
  const json = { 'content-type': 'application/json' };
  switch (target.kind) {
    case 'slack':
      return { kind: 'slack', url: target.config.webhook_url, headers: json, json: { text: slackEscape(messageOf(b, 'slack')) } };
    case 'pagerduty':
      return { kind: 'pagerduty', url: target.config.url || PAGERDUTY_EVENTS_URL, headers: json, json: pagerdutyEvent(target.config, b, origin) };
    case 'webhook': {
      const payload =
        b.json !== undefined
          ? b.json
          : {
              run: origin.runId,
              step: origin.stepId,
              text: messageOf(b, 'webhook'),
              ...(b.event ? { event: b.event } : {}),
              ...(b.severity ? { severity: b.severity } : {}),
              dedup_key: b.dedup_key ?? origin.runId,
              ...(b.details ? { details: b.details } : {}),
            };
      // The connection's headers, then content-type unless they set one.
      const headers = { ...json, ...lowerKeys(target.config.headers) };
      return { kind: 'webhook', url: target.config.url, headers, json: payload };
    }
    case 'smtp': {
      const text = messageOf(b, 'mail');
      const to = list(b.to ?? target.config.to);
      if (!to.length) throw new StepFailure(`notify ${b.connection}: no recipient (\`to\`)`, undefined, 'BODY_INVALID');
      const firstLine = text.split('\n')[0].trim();
      const subject = b.subject ?? (firstLine.length > 150 ? `${firstLine.slice(0, 149)}…` : firstLine);
      return { kind: 'smtp', from: target.config.from, to, subject, text };
    }
  }
}

function pagerdutyEvent(config: PagerDutyConfig, b: NotifyBody, origin: NotifyOrigin): Record<string, unknown> {
  const event = b.event ?? 'trigger';
  const head = { routing_key: config.routing_key, event_action: event, dedup_key: b.dedup_key ?? origin.runId };
  if (event !== 'trigger') {
    if (b.severity || b.details || b.source || b.component || b.group || b.class) {
      throw new StepFailure(`notify ${b.connection}: severity, source, component, group, class and details are for \`event: trigger\`; PagerDuty ignores them on ${event}`, undefined, 'BODY_INVALID');
    }
    return head;
  }
  const summary = messageOf(b, 'PagerDuty trigger');
  return {
    ...head,
    payload: {
      summary: summary.length > SUMMARY_LIMIT ? `${summary.slice(0, SUMMARY_LIMIT - 1)}…` : summary,
      source: b.source ?? origin.host,
      severity: pagerdutySeverity(b.severity),
      ...(b.component ? { component: b.component } : {}),
      ...(b.group ? { group: b.group } : {}),
      ...(b.class ? { class: b.class } : {}),
      ...(b.details ? { custom_details: b.details } : {}),
    },
    client: 'runbook',
  };
}

function lowerKeys(h: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(h ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
}
