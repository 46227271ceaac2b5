/**
 * The demo's scenarios on fake hosts (spec §9: sshd on 127.0.0.2 and up, each app host running the
 * trading service from its own folder): the rolling restart of the app tier onto a new release, and
 * the same restart meeting a host whose configuration lacks the new release's setting, where the
 * hosts already restarted are rolled back. They run when sshd can be started here (root and
 * openssh-server); otherwise the demo says which scenario it skips and why.
 */
import { ms, type Scenario } from './demo-scenarios.js';
import type { RunbookRun } from './demo-cli.js';
import { NEW_RELEASE, NEW_RELEASE_SETTING, STABLE_RELEASE } from './fake-hosts.js';
import type { Sandbox } from './sandbox.js';

const rto = (run: RunbookRun, objective: string) =>
  `RTO ${ms(run.finished?.duration_ms)} vs objective ${objective} ${run.finished?.rto_met ? '✓ met' : '✗ missed'}`;

/** Each app host's release and health, as its own health endpoint says. */
async function tier(sb: Sandbox): Promise<string> {
  const hosts = sb.hosts?.app ?? [];
  const states = await Promise.all(hosts.map(async (h) => `${h.name} ${h.release()} ${(await h.health())?.body.status ?? 'unreachable'}`));
  return states.join(', ');
}

const rolledBack = (run: RunbookRun) =>
  run.events.filter((e) => e.type === 'rollback.finished').map((e) => `${String(e.step)} ${String(e.status)}`).join(', ') || 'nothing';

export const HOST_SCENARIOS: Scenario[] = [
  {
    name: 'rolling-restart',
    title: `Rolling restart of 3 app hosts over SSH onto release ${NEW_RELEASE}, one host at a time behind its health check`,
    runbook: 'rolling-restart',
    needsHosts: true,
    sandbox: { trades: 100, hosts: { app: 3 } },
    async setup(ctx) {
      ctx.say(`app tier: ${await tier(ctx.sb)} (release ${NEW_RELEASE} deployed beside ${STABLE_RELEASE} on each)`);
      return { release: NEW_RELEASE, drain: '1s' };
    },
    async verdict(ctx, run) {
      return `${await tier(ctx.sb)} · ${rto(run, '10m')}`;
    },
  },
  {
    name: 'rolling-restart-rollback',
    title: `Rolling restart meets a host whose configuration lacks ${NEW_RELEASE}'s new setting: the restarted hosts roll back, last first`,
    runbook: 'rolling-restart',
    needsHosts: true,
    expectStatus: 'rolled_back',
    sandbox: { trades: 100, hosts: { app: 3 } },
    async setup(ctx) {
      ctx.sb.hosts!.app[1].setConfig(NEW_RELEASE_SETTING, undefined);
      ctx.say(`app tier: ${await tier(ctx.sb)}; app-2's config/app.env lacks ${NEW_RELEASE_SETTING}, which ${NEW_RELEASE} refuses to start without`);
      return { release: NEW_RELEASE, drain: '1s', health_within: '5s' };
    },
    async verdict(ctx, run) {
      return `rolled back: ${rolledBack(run)} · tier now ${await tier(ctx.sb)} (exit ${run.code})`;
    },
  },
];

export function findHostScenario(name: string): Scenario | undefined {
  return HOST_SCENARIOS.find((s) => s.name === name);
}
