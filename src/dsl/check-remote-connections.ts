/**
 * Rules of databases and engines reached over SSH (spec §9) that the schema cannot say:
 * `postgres.via` and `docker.via` name an ssh connection; a docker connection's ssh fields
 * (known_hosts, key or key_file …) go with `host: ssh://…`, and `socket` goes with an ssh:// host or alone;
 * a docker step with `on:` talks to each host's engine, so its connection must not itself name one
 * engine's host (ssh://, via). Values written as `${{ }}` are checked when the run opens them.
 */
import type { Diagnostic } from './errors.js';
import type { BodyModel, RunbookModel } from './model.js';
import { isSshHost, SSH_ONLY_FIELDS } from '../steps/docker/host.js';

const literal = (v: unknown): v is string => typeof v === 'string' && !v.includes('${{');

export function checkRemoteConnections(model: RunbookModel): Diagnostic[] {
  const out: Diagnostic[] = [];
  const src = model.src;
  for (const [name, c] of Object.entries(model.connections)) {
    if (c.kind !== 'postgres' && c.kind !== 'docker') continue;
    const config = (c.config ?? {}) as Record<string, unknown>;
    const via = config.via;
    if (literal(via)) {
      const at = src.pos([...c.path, 'via']);
      const target = model.connections[via];
      if (!target) out.push({ code: 'UNKNOWN_CONNECTION', message: `connection '${name}': via '${via}' is not a connection of this runbook`, ...at });
      else if (target.kind !== 'ssh') out.push({ code: 'CONNECTION_KIND', message: `connection '${name}': via '${via}' is a ${target.kind} connection; via names an ssh connection`, ...at });
    }
    if (c.kind !== 'docker' || (config.host !== undefined && !literal(config.host))) continue;
    const ssh = isSshHost(config.host as string | undefined);
    for (const f of SSH_ONLY_FIELDS) {
      if (config[f] !== undefined && !ssh) {
        out.push({ code: 'DOCKER_SSH_FIELD', message: `connection '${name}': ${f} applies to an engine reached with host: ssh://user@host (the ssh connection named by via has its own)`, ...src.pos([...c.path, f], { key: true }) });
      }
    }
    if (config.key !== undefined && config.key_file !== undefined) {
      out.push({ code: 'SCHEMA', message: `connection '${name}': give only one of 'key' or 'key_file', not both`, ...src.pos([...c.path, 'key_file'], { key: true }) });
    }
    if (config.socket !== undefined && config.host !== undefined && !ssh) {
      out.push({ code: 'SCHEMA', message: `connection '${name}': give only one of 'socket' or 'host', not both (socket goes with host only for ssh://)`, ...src.pos([...c.path, 'socket'], { key: true }) });
    }
  }
  for (const s of model.steps.values()) {
    if (!s.on) continue;
    for (const b of [s, s.rollback] as (BodyModel | undefined)[]) {
      if (b?.type !== 'docker') continue;
      const conn = (b.body as { connection?: unknown } | undefined)?.connection;
      const c = literal(conn) ? model.connections[conn] : undefined;
      if (c?.kind !== 'docker') continue;
      const config = (c.config ?? {}) as Record<string, unknown>;
      const one = config.via !== undefined ? `via ${String(config.via)}` : literal(config.host) && isSshHost(config.host) ? config.host : undefined;
      if (one === undefined) continue;
      out.push({
        code: 'ON_DOCKER',
        message: `step '${s.id}': on: ${s.on.connection} talks to the engine of each of its hosts, but connection '${conn}' is one engine (${one}): give the step a docker connection without via or ssh:// (its socket, default /var/run/docker.sock, is then the path on each host)`,
        ...src.pos([...b.path, 'connection']),
      });
    }
  }
  return out;
}
