/**
 * Connections are opened lazily, once per run, on first use by a step, with their `${{ }}`
 * resolved (params, env, secrets, run); all are closed when the run ends.
 */
import type { RunbookModel } from '../dsl/model.js';
import type { Scope, SecretMasker } from '../dsl/expr/index.js';
import { connectionKind } from '../steps/registry.js';
import { resolveValue } from './resolve.js';
import { StepFailure } from '../steps/types.js';

export class ConnectionPool {
  private open = new Map<string, Promise<{ kind: string; client: unknown }>>();

  constructor(
    private readonly model: RunbookModel,
    private readonly scope: () => Scope,
    private readonly ctx: { runId: string; baseDir: string; env: NodeJS.ProcessEnv; masker?: SecretMasker },
  ) {}

  async get<T>(name: string, kind: string): Promise<T> {
    const decl = this.model.connections[name];
    if (!decl) throw new StepFailure(`unknown connection '${name}'`, undefined, 'UNKNOWN_CONNECTION');
    if (decl.kind !== kind) throw new StepFailure(`connection '${name}' is ${decl.kind}, not ${kind}`, undefined, 'CONNECTION_KIND');
    let p = this.open.get(name);
    if (!p) {
      const k = connectionKind(kind);
      if (!k) throw new StepFailure(`no connection kind '${kind}'`);
      const config = resolveValue(decl.config, this.scope(), { urlFields: k.urlFields }) as Record<string, unknown>;
      // An Authorization header built from parts is a credential as a whole (spec §3).
      if (config.headers && typeof config.headers === 'object') this.ctx.masker?.addHeaders(config.headers as Record<string, unknown>);
      p = Promise.resolve(k.open(config, this.ctx)).then((client) => ({ kind, client }));
      this.open.set(name, p);
      p.catch(() => this.open.delete(name));
    }
    return (await p).client as T;
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.allSettled(
      all.map(async (p) => {
        const { kind, client } = await p;
        await connectionKind(kind)?.close?.(client);
      }),
    );
  }
}
