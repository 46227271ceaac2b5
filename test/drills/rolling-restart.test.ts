/**
 * runbooks/rolling-restart.yaml drilled against three real sshd hosts (spec §9), each running the
 * trading service from its own folder (examples/sandbox/fake-hosts.ts): host by host onto a new
 * release, each UP before the next starts; and the failure — a host whose configuration lacks the
 * new release's setting never comes back — where no further host is touched and the hosts already
 * restarted are rolled back, last first. Outcomes are read on the hosts themselves: the `current`
 * symlink, the running service's pid, its health endpoint, its log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLI_JS, runRunbook } from '../../examples/sandbox/demo-cli.js';
import { fakeHostsUnavailableReason, NEW_RELEASE, NEW_RELEASE_SETTING, STABLE_RELEASE, startFakeHosts, type FakeHosts } from '../../examples/sandbox/fake-hosts.js';
import { existsSync } from 'node:fs';

function unavailable(): string | undefined {
  const reason = fakeHostsUnavailableReason() ?? (existsSync(CLI_JS) ? undefined : `${CLI_JS} not built (npm run build)`);
  if (reason && process.env.CI === 'true') throw new Error(`rolling-restart drill required in CI: ${reason}`);
  if (reason) console.warn(`skipping the rolling-restart drill: ${reason}`);
  return reason;
}
const skip = unavailable() !== undefined;

type Event = Record<string, unknown> & { type: string; step?: string; ts: string };

describe.skipIf(skip)('drill: rolling restart of the app tier over ssh (3 hosts)', () => {
  let fh: FakeHosts;
  let root: string;
  beforeAll(async () => {
    fh = await startFakeHosts({ app: 3 });
    root = mkdtempSync(join(tmpdir(), 'rb-rolling-'));
  }, 60_000);
  afterAll(async () => {
    await fh?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  }, 30_000);
  beforeEach(async () => {
    // Every host on the stable release with a complete configuration.
    for (const h of fh.app) {
      h.setConfig(NEW_RELEASE_SETTING, 'http://pricing.internal:8090');
      if (h.release() !== STABLE_RELEASE || !h.appPid()) await h.restartOn(STABLE_RELEASE);
    }
  });

  let n = 0;
  const drill = (params: Record<string, string>) =>
    runRunbook('rolling-restart', { stateDir: join(root, `state-${++n}`), env: fh.env, params: { drain: '0s', ...params }, extra: ['--json', '--yes'] });
  const events = (run: { events: Record<string, unknown>[] }) => run.events as Event[];
  const at = (run: { events: Record<string, unknown>[] }, type: string, step: string) => {
    const e = events(run).find((x) => x.type === type && x.step === step);
    return e ? Date.parse(e.ts) : undefined;
  };

  it('restarts host by host onto the release, each UP on it before the next starts', async () => {
    const before = fh.app.map((h) => h.appPid());
    expect(before.every((p) => typeof p === 'number')).toBe(true);

    const run = await drill({ release: NEW_RELEASE });
    expect(run.code, run.stderr).toBe(0);
    expect(run.finished).toMatchObject({ status: 'succeeded', measures: { hosts: 3 } });
    // On the hosts: the new release linked, a new process running it, answering UP.
    for (const [i, h] of fh.app.entries()) {
      expect(h.release(), h.name).toBe(NEW_RELEASE);
      const pid = h.appPid();
      expect(pid, h.name).toBeDefined();
      expect(pid).not.toBe(before[i]);
      expect(await h.health()).toMatchObject({ status: 200, body: { status: 'UP', version: NEW_RELEASE, host: h.name } });
    }
    // One host at a time, in inventory order: each started after the previous one was UP.
    const names = fh.app.map((h) => h.name);
    for (let i = 1; i < names.length; i++) {
      expect(at(run, 'step.started', `restart[${names[i]}]`)).toBeGreaterThanOrEqual(at(run, 'step.finished', `restart[${names[i - 1]}]`)!);
    }
    const finished = events(run).filter((e) => e.type === 'step.finished' && String(e.step).startsWith('restart['));
    expect(finished.map((e) => [e.host, e.status])).toEqual(names.map((h) => [h, 'succeeded']));
    const said = events(run).flatMap((e) => (e.type === 'step.output' && e.step === 'restart[app-2]' ? [String(e.text)] : []));
    expect(said.join('')).toContain(`app-2: ${STABLE_RELEASE} -> ${NEW_RELEASE}`);
    expect(said.join('')).toContain('out of rotation');
    expect(said.join('')).toContain(`app-2: UP on ${NEW_RELEASE}`);
    // Results keyed by host: the release each ran before, and after.
    const outputs = (step: string) => events(run).find((e) => e.type === 'step.finished' && e.step === step)?.outputs as Record<string, unknown>;
    expect(outputs('healthy-before').release).toEqual({ 'app-1': STABLE_RELEASE, 'app-2': STABLE_RELEASE, 'app-3': STABLE_RELEASE });
    expect(outputs('healthy-after').release).toEqual({ 'app-1': NEW_RELEASE, 'app-2': NEW_RELEASE, 'app-3': NEW_RELEASE });
    expect(events(run).some((e) => e.type === 'rollback.started')).toBe(false);
  });

  it('a host that does not come back: no further host is touched, and the restarted ones roll back, last first', async () => {
    // Configuration drift: app-2 lacks the setting the new release refuses to start without.
    fh.app[1].setConfig(NEW_RELEASE_SETTING, undefined);
    const untouched = fh.app[2].appPid();
    const before = fh.app.map((h) => h.appPid());

    const run = await drill({ release: NEW_RELEASE, health_within: '3s' });
    expect(run.code, run.stderr).toBe(1);
    expect(run.finished).toMatchObject({ status: 'rolled_back' });
    const byStep = (step: string) => events(run).find((e) => e.type === 'step.finished' && e.step === step);
    expect(byStep('restart[app-1]')).toMatchObject({ status: 'succeeded' });
    expect(byStep('restart[app-2]')).toMatchObject({ status: 'failed', result: { exit_code: 1 } });
    expect(String((byStep('restart[app-2]')!.result as { stderr: string }).stderr)).toMatch(
      new RegExp(`app-2: not UP on ${NEW_RELEASE.replace(/\./g, '\\.')} within 3 s[\\s\\S]*APPLICATION FAILED TO START: trading-service ${NEW_RELEASE.replace(/\./g, '\\.')} needs ${NEW_RELEASE_SETTING}`),
    );
    // No further host started, the step failed with max_failures 0 and says which never started.
    expect(events(run).some((e) => e.type === 'step.started' && e.step === 'restart[app-3]')).toBe(false);
    expect(String(byStep('restart')!.error)).toMatch(/1 of 3 hosts failed \(max_failures 0\).*not started: app-3/);
    // Rolled back: the failed host first, then the one restarted before it; each on its own host.
    expect(events(run).filter((e) => e.type === 'rollback.started').map((e) => e.step)).toEqual(['restart[app-2]', 'restart[app-1]']);
    expect(events(run).filter((e) => e.type === 'rollback.finished').map((e) => [e.step, e.status])).toEqual([
      ['restart[app-2]', 'succeeded'],
      ['restart[app-1]', 'succeeded'],
    ]);
    // On the hosts: every one back on (or never off) the stable release and UP; app-1 and app-2 run
    // a new process (restarted twice), app-3 still runs the very process it ran before.
    for (const h of fh.app) {
      expect(h.release(), h.name).toBe(STABLE_RELEASE);
      expect(await h.health()).toMatchObject({ status: 200, body: { status: 'UP', version: STABLE_RELEASE } });
      // The record of what ran before is gone with the rollback (app-3 never had one in this run).
      expect(existsSync(join(h.dir, 'run', `release-before.${run.runId}`)), h.name).toBe(false);
    }
    expect(fh.app[0].appPid()).not.toBe(before[0]);
    expect(fh.app[1].appPid()).not.toBe(before[1]);
    expect(fh.app[2].appPid()).toBe(untouched);
    const said = events(run).flatMap((e) => (e.type === 'step.output' && e.step === 'restart[app-1]' ? [String(e.text)] : []));
    expect(said.join('')).toContain(`app-1: back on ${STABLE_RELEASE}, UP`);
    expect(fh.app[1].log()).toContain(`APPLICATION FAILED TO START: trading-service ${NEW_RELEASE} needs ${NEW_RELEASE_SETTING}`);
  }, 90_000);

  it('a host already down: the check stops the run before any host is restarted', async () => {
    await fh.app[2].stopService();
    const pids = fh.app.slice(0, 2).map((h) => h.appPid());
    const run = await drill({ release: NEW_RELEASE });
    expect(run.code).toBe(1);
    expect(events(run).find((e) => e.type === 'step.finished' && e.step === 'healthy-before[app-3]')).toMatchObject({ status: 'failed' });
    expect(events(run).some((e) => e.type === 'step.started' && String(e.step).startsWith('restart['))).toBe(false);
    expect(fh.app.map((h) => h.release())).toEqual([STABLE_RELEASE, STABLE_RELEASE, STABLE_RELEASE]);
    expect(fh.app.slice(0, 2).map((h) => h.appPid())).toEqual(pids);
  });

  it('a release that is not deployed everywhere: refused by the check, nothing restarted', async () => {
    const run = await drill({ release: '9.9.9' });
    expect(run.code).toBe(1);
    const failed = events(run).filter((e) => e.type === 'step.finished' && String(e.step).startsWith('healthy-before[') && e.status === 'failed');
    expect(failed).toHaveLength(3);
    expect(String((failed[0].result as { stderr: string }).stderr)).toMatch(/release 9\.9\.9 is not deployed on app-\d/);
    expect(events(run).some((e) => e.type === 'step.started' && String(e.step).startsWith('restart['))).toBe(false);
  });
});
