/**
 * What a docker step acts on: `container: <name|id>` (one container) or `service: <name>` (every
 * container with the compose service label, within the connection's project), and the short
 * summary of a container every result carries.
 */
import { DockerApiError, type DockerClient } from './client.js';
import { StepFailure } from '../types.js';

export const SERVICE_LABEL = 'com.docker.compose.service';
export const PROJECT_LABEL = 'com.docker.compose.project';

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  /** created | running | paused | restarting | exited | dead (podman may also say `stopped`, `configured`). */
  state: string;
  /** starting | healthy | unhealthy, or null without a healthcheck. */
  health: string | null;
}

/** The fields of GET /containers/{id}/json that we read. */
export interface ContainerInspect {
  Id: string;
  Name: string;
  Config?: { Image?: string; Tty?: boolean; Healthcheck?: { Test?: string[] } | null; Labels?: Record<string, string> | null };
  HostConfig?: { RestartPolicy?: { Name?: string } | null };
  State?: { Status?: string; Running?: boolean; ExitCode?: number; Health?: { Status?: string } | null };
}

export interface TargetSpec {
  container?: string;
  service?: string;
}

export function summarize(c: ContainerInspect): ContainerSummary {
  const health = c.State?.Health?.Status;
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    image: c.Config?.Image ?? '',
    state: c.State?.Status ?? 'unknown',
    // Podman reports an empty health status for a container without a healthcheck.
    health: health === undefined || health === '' || !hasHealthcheck(c) ? null : health,
  };
}

export function hasHealthcheck(c: ContainerInspect): boolean {
  const test = c.Config?.Healthcheck?.Test;
  return Array.isArray(test) && test.length > 0 && test[0] !== 'NONE';
}

/** Inspect one container; undefined when it does not exist. */
export async function inspectContainer(client: DockerClient, ref: string, signal: AbortSignal): Promise<ContainerInspect | undefined> {
  const res = await client.request('GET', `/containers/${encodeURIComponent(ref)}/json`, { signal });
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new DockerApiError(res.status, res.text, `inspect ${ref}`);
  return res.json as ContainerInspect;
}

/** The compose label filters for a service (plus the connection's project), as Engine API `label` filters. */
export function serviceLabels(client: DockerClient, service: string): string[] {
  const labels = [`${SERVICE_LABEL}=${service}`];
  if (client.project !== undefined) labels.push(`${PROJECT_LABEL}=${client.project}`);
  return labels;
}

/** Ids of the containers (stopped ones too) matching `filters`, sorted by name. */
export async function listContainerIds(
  client: DockerClient,
  filters: Record<string, string[]>,
  all: boolean,
  signal: AbortSignal,
): Promise<string[]> {
  const res = await client.request('GET', '/containers/json', {
    query: { all: all ? 1 : 0, filters: JSON.stringify(filters) },
    signal,
  });
  if (res.status !== 200) throw new DockerApiError(res.status, res.text, 'list containers');
  const list = (res.json ?? []) as Array<{ Id: string; Names?: string[] }>;
  return list
    .map((c) => ({ id: c.Id, name: (c.Names?.[0] ?? c.Id).replace(/^\//, '') }))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => c.id);
}

/** Human name of the target for messages: `container db`, `service web (project shop)`. */
export function describeTarget(client: DockerClient, t: TargetSpec): string {
  if (t.container !== undefined) return `container '${t.container}'`;
  return `service '${t.service}'${client.project === undefined ? '' : ` (project '${client.project}')`}`;
}

/** Inspect every container of the target; a clear StepFailure when there is none. */
export async function resolveTargets(client: DockerClient, t: TargetSpec, signal: AbortSignal): Promise<ContainerInspect[]> {
  if (t.container !== undefined) {
    const c = await inspectContainer(client, t.container, signal);
    if (!c) throw new StepFailure(`docker: no such container '${t.container}' at ${client.where}`, undefined, 'DOCKER_NOT_FOUND');
    return [c];
  }
  if (t.service === undefined) throw new StepFailure('docker: name a target: `container` or `service`');
  const ids = await listContainerIds(client, { label: serviceLabels(client, t.service) }, true, signal);
  const found = await inspectAll(client, ids, signal);
  if (found.length === 0) {
    throw new StepFailure(
      `docker: no container of ${describeTarget(client, t)} at ${client.where} (looked for label ${serviceLabels(client, t.service).join(', ')})`,
      undefined,
      'DOCKER_NOT_FOUND',
    );
  }
  return found;
}

/** Inspect these containers; those removed meanwhile are left out. */
export async function inspectAll(client: DockerClient, refs: string[], signal: AbortSignal): Promise<ContainerInspect[]> {
  const all = await Promise.all(refs.map((ref) => inspectContainer(client, ref, signal)));
  return all.filter((c): c is ContainerInspect => c !== undefined);
}
