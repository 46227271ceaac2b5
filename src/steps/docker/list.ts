/**
 * Read-only listings: `ps` (containers matching Engine API filters, optionally of one service or
 * container) and `images` (images matching a reference).
 */
import { DockerApiError, type DockerClient } from './client.js';
import type { DockerBody } from './schema.js';
import { inspectAll, listContainerIds, serviceLabels } from './targets.js';
import { summarize } from './targets.js';
import type { StepContext } from '../types.js';

/** Filters in the Engine API's `{key: [values]}` form. */
function normalizeFilters(filters: DockerBody['filters']): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(filters ?? {})) out[k] = [v].flat();
  return out;
}

export async function psAction(client: DockerClient, body: DockerBody, ctx: StepContext): Promise<Record<string, unknown>> {
  const filters = normalizeFilters(body.filters);
  if (body.service !== undefined) filters.label = [...(filters.label ?? []), ...serviceLabels(client, body.service)];
  if (body.container !== undefined) filters.name = [...(filters.name ?? []), body.container];
  const ids = await listContainerIds(client, filters, body.all === true, ctx.signal);
  // The list's own fields lack the health status (Podman leaves it out): inspect each.
  const containers = (await inspectAll(client, ids, ctx.signal)).map(summarize);
  return { containers, count: containers.length };
}

export interface ImageSummary {
  id: string;
  tags: string[];
  size: number;
  created: string;
}

export async function imagesAction(client: DockerClient, body: DockerBody, ctx: StepContext): Promise<Record<string, unknown>> {
  const filters = normalizeFilters(body.filters);
  if (body.reference !== undefined) filters.reference = [...(filters.reference ?? []), body.reference];
  const res = await client.request('GET', '/images/json', { query: { filters: JSON.stringify(filters) }, signal: ctx.signal });
  if (res.status !== 200) throw new DockerApiError(res.status, res.text, 'list images');
  const list = (res.json ?? []) as Array<{ Id: string; RepoTags?: string[] | null; Size?: number; Created?: number }>;
  const images: ImageSummary[] = list.map((i) => ({
    id: i.Id,
    tags: i.RepoTags ?? [],
    size: i.Size ?? 0,
    created: new Date((i.Created ?? 0) * 1000).toISOString(),
  }));
  return { images, count: images.length };
}
