/**
 * The notify step against real receivers on loopback: an HTTP server recording Slack, PagerDuty and
 * webhook requests (examples/sandbox/services/notify-receiver.ts) and smtp-server receiving the mail.
 * Runbooks run through the real CLI; the tests assert method, path, headers and exact payloads, the
 * result in the journal, retry (500 then 202), timeout (a receiver that hangs) and masking.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startNotifyReceiver, type NotifyReceiver } from '../../examples/sandbox/services/notify-receiver.js';
import { journalOf, runCli } from '../helpers/cli.js';

const PASSWORD = 'hunter2-s3cret';
const ROUTING_KEY = 'R0UTINGKEY0123456789abcdef012345';

interface Mail {
  from: string;
  to: string[];
  raw: string;
}

let dir: string;
let receiver: NotifyReceiver;
let smtp: SMTPServer;
let smtpPort: number;
const mails: Mail[] = [];
let hangSmtp = false;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'runbook-notify-'));
  receiver = await startNotifyReceiver();
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: (session.envelope.mailFrom as { address: string }).address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        // A hanging server takes the data and never says 250.
        if (!hangSmtp) callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await receiver?.stop();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  receiver.requests.length = 0;
  mails.length = 0;
  hangSmtp = false;
});

const HEAD = `
secrets:
  pd_key: { env: PD_KEY }
  password: { env: APP_PASSWORD }
connections:
  chat: { slack: { webhook_url: "\${{ env.SLACK_WEBHOOK_URL }}" } }
  oncall: { pagerduty: { routing_key: "\${{ secrets.pd_key }}", url: "\${{ env.PAGERDUTY_URL }}" } }
  hook: { webhook: { url: "\${{ env.WEBHOOK_URL }}", headers: { Authorization: "Bearer \${{ secrets.password }}", X-Team: dr } } }
  mail: { smtp: { url: "\${{ env.SMTP_URL }}", from: "runbook <dr@example.test>", to: [oncall@example.test, cto@example.test] } }
`;

function runbookFile(name: string, steps: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `runbook: ${name}\n${HEAD}phases:\n  - id: main\n    steps:\n${steps}`);
  return file;
}

async function run(file: string, extra: string[] = []) {
  const stateDir = join(dir, 'state');
  const res = await runCli(['run', file, '--json', '--state-dir', stateDir, ...extra], {
    env: {
      ...receiver.env,
      PD_KEY: ROUTING_KEY,
      APP_PASSWORD: PASSWORD,
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    },
  });
  const started = res.events.find((e) => e.type === 'run.started');
  const finished = res.events.find((e) => e.type === 'run.finished');
  const steps = Object.fromEntries(res.events.filter((e) => e.type === 'step.finished').map((e) => [(e as { step: string }).step, e as Record<string, any>]));
  const journal = started ? readFileSync(journalOf(stateDir, started.run), 'utf8') : '';
  return { ...res, runId: started?.run ?? '', finished: finished as Record<string, any> | undefined, steps, journal };
}

const OUTPUTS = `        outputs: { status: "\${{ result.status }}", id: "\${{ result.id }}" }\n`;

describe('notify: payloads as each service documents them', () => {
  it('pages PagerDuty (trigger, then resolve with the run id as dedup key), posts to Slack and a webhook, mails', async () => {
    const file = runbookFile(
      'notify-all',
      `      - id: page
        notify: { connection: oncall, event: trigger, severity: P0, summary: "Database corruption: restore started", source: db-1, component: postgres, details: { backup: latest } }
${OUTPUTS}      - id: chat
        notify: { connection: chat, text: "Restore <started> & running (password \${{ secrets.password }})" }
${OUTPUTS}      - id: hook
        notify: { connection: hook, event: trigger, severity: P1, text: "Maintenance mode on" }
${OUTPUTS}      - id: mail
        notify: { connection: mail, subject: "P0: database corruption", text: "The trading database is being restored.\\nNext update in 5 minutes." }
${OUTPUTS}      - id: resolve
        notify: { connection: oncall, event: resolve }
${OUTPUTS}`,
    );
    const r = await run(file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.finished).toMatchObject({ status: 'succeeded' });

    const [trigger, resolve] = receiver.to('/pagerduty');
    expect(receiver.to('/pagerduty')).toHaveLength(2);
    expect(trigger).toMatchObject({ method: 'POST', path: '/pagerduty/v2/enqueue', headers: { 'content-type': 'application/json' } });
    expect(trigger.json).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: r.runId,
      payload: { summary: 'Database corruption: restore started', source: 'db-1', severity: 'critical', component: 'postgres', custom_details: { backup: 'latest' } },
      client: 'runbook',
    });
    expect(resolve.json).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: r.runId });
    expect(receiver.incidents()).toEqual([expect.objectContaining({ dedup_key: r.runId, status: 'resolved', events: ['trigger', 'resolve'] })]);
    // The result holds what PagerDuty answered: 202 and the incident's key.
    expect(r.steps.page.outputs).toEqual({ status: 202, id: r.runId });
    expect(r.steps.resolve.outputs).toEqual({ status: 202, id: r.runId });

    const [slack] = receiver.to('/slack');
    expect(slack).toMatchObject({ method: 'POST', path: '/slack/services/T0SANDBOX/B0SANDBOX/sandboxtoken', headers: { 'content-type': 'application/json' } });
    // Slack's control characters escaped; the secret masked in what is sent.
    expect(slack.json).toEqual({ text: 'Restore &lt;started&gt; &amp; running (password ***)' });
    expect(r.steps.chat.outputs).toEqual({ status: 200, id: null });

    const [hook] = receiver.to('/webhook');
    expect(hook).toMatchObject({ method: 'POST', path: '/webhook/incidents', headers: { 'content-type': 'application/json', 'x-team': 'dr', authorization: `Bearer ${PASSWORD}` } });
    expect(hook.json).toEqual({ run: r.runId, step: 'hook', text: 'Maintenance mode on', event: 'trigger', severity: 'P1', dedup_key: r.runId });
    expect(r.steps.hook.outputs).toEqual({ status: 200, id: 'msg-1' });

    expect(mails).toHaveLength(1);
    const mail = mails[0];
    expect(mail.from).toBe('dr@example.test');
    expect(mail.to).toEqual(['oncall@example.test', 'cto@example.test']);
    expect(mail.raw).toMatch(/^From: runbook <dr@example\.test>\r$/m);
    expect(mail.raw).toMatch(/^To: oncall@example\.test, cto@example\.test\r$/m);
    expect(mail.raw).toMatch(/^Subject: P0: database corruption\r$/m);
    expect(mail.raw.split('\r\n\r\n').slice(1).join('\r\n\r\n').trim()).toBe('The trading database is being restored.\r\nNext update in 5 minutes.');
    expect(r.steps.mail.outputs.status).toMatch(/^250 /);
    expect(r.steps.mail.outputs.id).toMatch(/^<.+@.+>$/);

    // Neither the routing key nor the password reaches the journal.
    expect(r.journal).not.toContain(PASSWORD);
    expect(r.journal).not.toContain(ROUTING_KEY);
  });

  it('a trigger without a source names this host; a mail without a subject takes the first line', async () => {
    const file = runbookFile(
      'notify-defaults',
      `      - id: page
        notify: { connection: oncall, summary: "Restore started" }
      - id: mail
        notify: { connection: mail, to: ops@example.test, text: "Restore started\\nat once" }
`,
    );
    const r = await run(file);
    expect(r.code, r.stderr).toBe(0);
    expect(receiver.to('/pagerduty')[0].json).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: r.runId,
      payload: { summary: 'Restore started', source: hostname(), severity: 'critical' },
      client: 'runbook',
    });
    expect(mails[0].to).toEqual(['ops@example.test']);
    expect(mails[0].raw).toMatch(/^Subject: Restore started\r$/m);
  });
});

describe('notify: a notification is a step like any other', () => {
  it('retries: a receiver that answers 500 and then 202 is paged on the second attempt', async () => {
    receiver.failNext(500);
    const file = runbookFile(
      'notify-retry',
      `      - id: page
        notify: { connection: oncall, summary: "Restore started" }
        retry: { attempts: 3, delay: 100ms }
${OUTPUTS}`,
    );
    const r = await run(file);
    expect(r.code, r.stderr).toBe(0);
    expect(receiver.to('/pagerduty').map((q) => q.status)).toEqual([500, 202]);
    expect(r.steps.page).toMatchObject({ status: 'succeeded', attempts: 2, outputs: { status: 202, id: r.runId } });
    expect(r.events.filter((e) => e.type === 'step.started' && e.step === 'page')).toHaveLength(2);
  });

  it('fails the step (and the run) on an answer other than 2xx, saying what the service answered', async () => {
    receiver.failNext(400);
    const r = await run(runbookFile('notify-fails', `      - id: page\n        notify: { connection: oncall, summary: "x" }\n`));
    expect(r.code).toBe(1);
    expect(r.steps.page).toMatchObject({ status: 'failed', attempts: 1 });
    expect(r.steps.page.error).toContain('notify oncall: PagerDuty answered 400, expected 2xx');
    expect(r.steps.page.error).not.toContain(ROUTING_KEY);
  });

  it('times out: a receiver that never answers is given up after the step timeout; on_failure: continue lets the run go on', async () => {
    receiver.hangNext();
    const file = runbookFile(
      'notify-timeout',
      `      - id: page
        notify: { connection: oncall, summary: "Restore started" }
        timeout: 1s
        on_failure: continue
      - id: chat
        notify: { connection: chat, text: "still going" }
`,
    );
    const r = await run(file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.steps.page).toMatchObject({ status: 'timed_out' });
    expect(r.steps.page.duration_ms).toBeGreaterThanOrEqual(1000);
    expect(r.steps.page.duration_ms).toBeLessThan(3000);
    expect(r.steps.chat).toMatchObject({ status: 'succeeded' });
    expect(receiver.to('/slack')[0].json).toEqual({ text: 'still going' });
  });

  it('times out a mail server that takes the data and never answers', async () => {
    hangSmtp = true;
    const r = await run(runbookFile('notify-smtp-timeout', `      - id: mail\n        notify: { connection: mail, text: "x" }\n        timeout: 1s\n`));
    expect(r.code).toBe(1);
    expect(r.steps.mail).toMatchObject({ status: 'timed_out' });
    expect(r.steps.mail.duration_ms).toBeLessThan(3000);
    expect(mails).toHaveLength(1);
  });

  it('a field the connection kind does not read fails the step by name, nothing sent', async () => {
    const r = await run(runbookFile('notify-bad-field', `      - id: chat\n        notify: { connection: chat, text: "x", event: resolve }\n`));
    expect(r.code).toBe(1);
    expect(r.steps.chat.error).toContain('notify chat: event is not read by a slack connection');
    expect(receiver.requests).toHaveLength(0);
  });

  it('validate: a notify step naming a postgres connection is a CONNECTION_KIND error at its line', async () => {
    const file = join(dir, 'bad-kind.yaml');
    writeFileSync(file, 'runbook: bad-kind\nconnections:\n  db: { postgres: { url: "postgres://x@127.0.0.1/x" } }\nphases:\n  - id: p\n    steps:\n      - id: n\n        notify: { connection: db, text: x }\n');
    const r = await runCli(['validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr + r.stdout).toContain("bad-kind.yaml:8:");
    expect(r.stderr + r.stdout).toContain("connection 'db' is postgres, a notify step needs slack or pagerduty or smtp or webhook");
  });

  it('plan renders what would be sent, secrets masked, and sends nothing', async () => {
    const file = runbookFile(
      'notify-plan',
      `      - id: page
        notify: { connection: oncall, event: trigger, severity: P0, summary: "Restore started" }
      - id: chat
        notify: { connection: chat, text: "password \${{ secrets.password }}" }
      - id: resolve
        notify: { connection: oncall, event: resolve }
`,
    );
    const r = await runCli(['plan', file], { env: { PD_KEY: ROUTING_KEY, APP_PASSWORD: PASSWORD } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('notify oncall: trigger P0 "Restore started" dedup_key <run id>');
    expect(r.stdout).toContain('notify chat: "password ***"');
    expect(r.stdout).toContain('notify oncall: resolve dedup_key <run id>');
    expect(r.stdout).not.toContain(PASSWORD);
    expect(receiver.requests).toHaveLength(0);
  });

  it('plan --preflight checks the configuration of each kind and logs in to the mail server, sending nothing', async () => {
    const file = runbookFile('notify-preflight', `      - id: chat\n        notify: { connection: chat, text: "x" }\n`);
    const r = await runCli(['plan', file, '--preflight'], {
      env: { ...receiver.env, SLACK_WEBHOOK_URL: '', PD_KEY: ROUTING_KEY, APP_PASSWORD: PASSWORD, SMTP_URL: `smtp://127.0.0.1:${smtpPort}` },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ connection chat \(slack\) Slack webhook \(no url\) +webhook_url is empty \(is the secret or variable it comes from set\?\)/);
    expect(r.stdout).toMatch(/✓ connection oncall \(pagerduty\) PagerDuty http:\/\/127\.0\.0\.1:\d+\/pagerduty\/v2\/enqueue +configured \(not contacted/);
    expect(r.stdout).toMatch(/✓ connection mail \(smtp\) smtp smtp:\/\/127\.0\.0\.1:\d+ +server answers and accepts the login/);
    expect(r.stdout).not.toContain(ROUTING_KEY);
    expect(receiver.requests).toHaveLength(0);
    expect(mails).toHaveLength(0);
  });
});
