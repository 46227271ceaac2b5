/**
 * `on:` (spec §9): a shell or docker step runs once per host of an ssh connection, each host an
 * instance `<step>[<host>]` with its own events (tagged `host`), its own rollback and, on resume, its
 * own fate. Hosts start `concurrency` at a time within rolling `batch`es (a batch finishes before the
 * next starts); once more than `max_failures` hosts failed, no further host starts and the step
 * fails. Results and outputs become maps keyed by host name.
 *
 * Resume asks the host first: a command runs under the wrapper (transport/ssh/wrapper.ts), which
 * records its exit status there, so an instance the dead runner left in flight is settled by what
 * the host recorded — finished (taken as it ended, never run again), still running (waited for), or
 * never started (run). Only when the host cannot tell does the idempotent rule decide.
 */
import { hostCount, type StepModel } from '../dsl/model.js';
import type { StepStatus } from './events.js';
import type { RemoteHost, SshHosts } from '../steps/ssh/index.js';
import type { Transport } from '../transport/types.js';
import { SshTransport } from '../transport/ssh/transport.js';
import type { RecordedState } from '../transport/ssh/wrapper.js';
import { instanceAddress, instanceKey } from './address.js';
import { attemptLoop, type AttemptOutcome } from './attempt.js';
import { emitFinished, inflightAction, INFLIGHT_SKIPPED } from './execute-step.js';
import { formatMs, sleep } from './timers.js';
import { countsOf, failedStatus, finishedBefore, type ItemCounts } from './for-each.js';
import type { InstanceRun, Level, PhaseCtx, RunContext } from './context.js';

export interface Remote {
  host: RemoteHost;
  transport: Transport;
}

/** `host` as expressions see it. */
export const hostScope = (h: RemoteHost) => ({ name: h.name, address: h.address, vars: h.vars });

/** The hosts of a step's `on:` connection (opened once per run). */
export function hostsOf(level: Level, s: StepModel): Promise<SshHosts> {
  return level.connections.get<SshHosts>(s.on!.connection, 'ssh');
}

/** The remote of one host instance: its host, and a transport with a folder of its own on the host. */
export function remoteFor(runId: string, opened: SshHosts, h: RemoteHost, address: string): Remote {
  return { host: h, transport: new SshTransport(opened.host(h), { runId, address }) };
}

/** A host instance's rollback runs on its host, in a folder of its own (its status never overwrites the step's). */
export async function rollbackRemote(ctx: RunContext, entry: InstanceRun): Promise<Remote | undefined> {
  if (!entry.model.on) return undefined;
  const key = instanceKey(entry.address);
  const opened = await hostsOf(entry.level, entry.model);
  const h = opened.hosts.find((x) => x.name === key);
  if (!h) throw new Error(`host '${String(key)}' is no longer in connection '${entry.model.on.connection}'`);
  return remoteFor(ctx.runId, opened, h, `${entry.address}/rollback`);
}

export async function runHosts(
  ctx: RunContext,
  level: Level,
  s: StepModel,
  phase: PhaseCtx,
  address: string,
  opened: SshHosts,
  previous?: (AttemptOutcome | undefined)[],
): Promise<{ outcome: AttemptOutcome; counts: ItemCounts; results: (AttemptOutcome | undefined)[] }> {
  const hosts = opened.hosts;
  const n = hosts.length;
  const results: (AttemptOutcome | undefined)[] = new Array(n);
  const tolerated = hostCount(s.max_failures ?? { count: 0 }, n, 'down');
  let failures = 0;
  for (let i = 0; i < n; i++) {
    const prev = previous?.[i];
    if (prev && !failedStatus(prev.status) && prev.status !== 'cancelled') results[i] = prev;
    else if (!previous) results[i] = finishedBefore(ctx, level, instanceAddress(address, hosts[i].name));
    if (failedStatus(results[i]?.status)) failures++;
  }
  // Every host is reached (key verified, logged in) before a command runs on any: a changed key or a
  // host that is down is known before the first host changes, and counts as that host's failure.
  const unreachable = await Promise.all(hosts.map((h, i) => (results[i] ? undefined : opened.host(h).connect().then(() => undefined, (e: Error) => e))));
  unreachable.forEach((e, i) => {
    if (!e) return;
    const at = instanceAddress(address, hosts[i].name);
    ctx.setTags(at, { host: hosts[i].name });
    results[i] = { status: 'failed', result: null, outputs: {}, error: e.message, attempts: 0 };
    emitFinished(ctx, level, s, phase, at, results[i]!, 0);
    failures++;
  });
  const tooMany = () => failures > tolerated;
  const size = s.batch ? hostCount(s.batch, n, 'up') : n;
  for (let from = 0; from < n && !tooMany() && !ctx.stoppingIn(level); from += size) {
    const batch = Array.from({ length: Math.min(size, n - from) }, (_, k) => from + k).filter((i) => !results[i]);
    let next = 0;
    const worker = async () => {
      while (next < batch.length && !tooMany() && !ctx.stoppingIn(level)) {
        const i = batch[next++];
        const r = await runHost(ctx, level, s, phase, address, opened, hosts[i]);
        results[i] = r;
        if (failedStatus(r.status)) failures++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(s.concurrency, batch.length) }, worker));
  }
  return { outcome: aggregate(s, hosts, results, failures, tolerated), counts: countsOf(results), results };
}

function aggregate(s: StepModel, hosts: RemoteHost[], results: (AttemptOutcome | undefined)[], failures: number, tolerated: number): AttemptOutcome {
  const result: Record<string, unknown> = {};
  const outputs: Record<string, Record<string, unknown>> = {};
  for (const name of Object.keys(s.outputs)) outputs[name] = {};
  hosts.forEach((h, i) => {
    result[h.name] = results[i]?.result ?? null;
    for (const name of Object.keys(s.outputs)) outputs[name][h.name] = results[i]?.outputs[name] ?? null;
  });
  const notStarted = hosts.filter((_, i) => !results[i]).map((h) => h.name);
  const bad = hosts.flatMap((h, i) => (results[i] && results[i]!.status !== 'succeeded' && results[i]!.status !== 'skipped' ? [`${h.name}: ${results[i]!.error}`] : []));
  const cancelled = results.some((r) => r?.status === 'cancelled');
  let status: StepStatus;
  if (failures > tolerated) status = results.some((r) => r?.status === 'failed') ? 'failed' : 'timed_out';
  else if (cancelled || notStarted.length) status = 'cancelled';
  else status = 'succeeded';
  const parts = [...bad];
  if (failures > tolerated) parts.unshift(`${failures} of ${hosts.length} hosts failed (max_failures ${tolerated})`);
  else if (failures) parts.unshift(`${failures} of ${hosts.length} hosts failed, within max_failures ${tolerated}`);
  if (notStarted.length) parts.push(`not started: ${notStarted.join(', ')}`);
  return {
    status,
    result,
    outputs,
    error: parts.length ? parts.join('; ') : null,
    attempts: Math.max(0, ...results.filter((r): r is AttemptOutcome => !!r).map((r) => r.attempts)),
  };
}

async function runHost(ctx: RunContext, level: Level, s: StepModel, phase: PhaseCtx, step: string, opened: SshHosts, h: RemoteHost): Promise<AttemptOutcome> {
  const address = instanceAddress(step, h.name);
  ctx.setTags(address, { host: h.name });
  const started = Date.now();
  const remote = remoteFor(ctx.runId, opened, h, address);
  const finish = (o: AttemptOutcome, extra: { skipped_inflight?: boolean } = {}) => {
    const run = ctx.markStarted(level, s, address);
    run.status = o.status;
    run.self = { status: o.status, outputs: o.outputs, result: o.result, error: o.error, attempts: o.attempts, duration: Date.now() - started };
    emitFinished(ctx, level, s, phase, address, o, Date.now() - started, extra);
    return o;
  };
  const rec = ctx.replay.instances.get(address);
  if (rec?.inflight) {
    // The host knows best whether the dead runner's command ran (shell runs under the wrapper).
    const settled = s.type === 'shell' ? await settleFromHost(ctx, level, s, address, remote, h) : undefined;
    if (settled) {
      ctx.markStarted(level, s, address);
      return finish(settled);
    }
    if (settled === undefined) {
      const action = await inflightAction(ctx, s, address);
      if (action instanceof Error) return finish({ status: 'failed', result: null, outputs: {}, error: action.message, attempts: 0 });
      if (action === 'skip') {
        ctx.markStarted(level, s, address).inflightSkipped = true;
        return finish({ status: 'skipped', result: null, outputs: {}, error: INFLIGHT_SKIPPED, attempts: 0 }, { skipped_inflight: true });
      }
    }
  }
  ctx.markStarted(level, s, address);
  return finish(await attemptLoop(ctx, level, s, phase, address, { host: hostScope(h) }, { remote }));
}

const POLL_MS = 500;

/**
 * What the host recorded for an instance the dead runner left in flight: an outcome (it finished,
 * perhaps after waiting for it), `null` (it never started there: run it), or undefined (the host
 * cannot be asked: the idempotent rule decides).
 */
async function settleFromHost(ctx: RunContext, level: Level, s: StepModel, address: string, remote: Remote, h: RemoteHost): Promise<AttemptOutcome | null | undefined> {
  const t = remote.transport as SshTransport;
  const say = (text: string) => ctx.emitter.emit({ type: 'step.output', step: address, ...ctx.tagsOf(address), stream: 'info', text });
  let rec: RecordedState;
  try {
    rec = await t.recorded();
  } catch (e) {
    say(`cannot read what ${h.name} recorded for this command: ${(e as Error).message}`);
    return undefined;
  }
  const deadline = Date.now() + s.timeout_ms;
  if (rec.state === 'running') say(`still running on ${h.name} (pid ${rec.pid}) from the runner that died: waiting for it`);
  while (rec.state === 'running') {
    if (Date.now() > deadline) {
      await t.conn.kill(t.folder).catch(() => undefined);
      return { status: 'timed_out', result: null, outputs: {}, error: `was still running on ${h.name} after the runner died; killed after ${formatMs(s.timeout_ms)}`, attempts: 1 };
    }
    try {
      await sleep(POLL_MS, ctx.signalOf(level));
      rec = await t.recorded();
    } catch {
      return undefined;
    }
  }
  if (rec.state === 'none') return null;
  const expected = [(s.body as { expect_exit?: number | number[] } | undefined)?.expect_exit ?? 0].flat();
  const ok = !rec.killed && expected.includes(rec.exitCode);
  say(`finished on ${h.name} while the runner was down: exit code ${rec.exitCode}${rec.killed ? ' (killed)' : ''}; not run again`);
  return {
    status: ok ? 'succeeded' : 'failed',
    result: { exit_code: rec.exitCode, stdout: '', stderr: '', json: null, recovered: true },
    outputs: {},
    error: ok ? null : `exit code ${rec.exitCode} on ${h.name}, recorded there while the runner was down`,
    attempts: 1,
  };
}
