/**
 * `plan --preflight` for what runs on the hosts of an `on:` (spec §9): a docker connection that only
 * such steps use is checked on each of their hosts (its socket is the path there, not here), and the
 * preflight of an `on:` step runs once per host, with `host` in scope and the host's engine.
 */
import type { RunbookModel, StepModel } from '../dsl/model.js';
import type { SshHosts } from '../steps/ssh/index.js';
import type { DockerClient } from '../steps/docker/index.js';
import type { ConnectionKind, PreflightCheck, RunServices, StepContext } from '../steps/types.js';
import type { ConnectionPool } from './connections.js';
import { hostScope, remoteFor } from './fan-out.js';
import { instanceAddress } from './address.js';

/** The `on:` connections of the steps (and rollbacks) using docker connection `name`, when every one of them has `on:`. */
export function onlyOnHosts(model: RunbookModel, name: string): string[] | undefined {
  const on = new Set<string>();
  let users = 0;
  for (const s of model.steps.values()) {
    for (const b of [s, s.rollback]) {
      if (b?.type !== 'docker' || (b.body as { connection?: unknown } | undefined)?.connection !== name) continue;
      users++;
      if (!s.on) return undefined;
      on.add(s.on.connection);
    }
  }
  return users ? [...on] : undefined;
}

/** The docker connection's checks on each host of those `on:` connections. */
export async function preflightOnHosts(
  pool: ConnectionPool,
  kind: ConnectionKind,
  client: DockerClient,
  config: Record<string, unknown>,
  onConnections: string[],
  target: string,
): Promise<PreflightCheck[]> {
  const checks: PreflightCheck[] = [];
  for (const on of onConnections) {
    const opened = await pool.get<SshHosts>(on, 'ssh');
    for (const h of opened.hosts) {
      const at = `${target} on ${h.name}`;
      try {
        for (const r of [await kind.preflight!(client.onHost!(opened.host(h)), config)].flat()) checks.push({ ...r, target: at });
      } catch (e) {
        checks.push({ target: at, ok: false, detail: (e as Error).message });
      }
    }
  }
  return checks;
}

/** One step context per host of `s.on` (with `host` for its scope), for a type's preflight. */
export async function hostContexts(
  pool: ConnectionPool,
  s: StepModel,
  base: StepContext,
  services: RunServices,
): Promise<{ label: string; host: ReturnType<typeof hostScope>; ctx: StepContext }[]> {
  const opened = await pool.get<SshHosts>(s.on!.connection, 'ssh');
  return opened.hosts.map((h) => {
    const address = instanceAddress(s.id, h.name);
    // The transport is never asked to run anything here: preflight only reads.
    const remote = remoteFor(base.runId, opened, h, address);
    return { label: address, host: hostScope(h), ctx: { ...base, stepId: address, services, remote } };
  });
}
