/**
 * Connections are opened lazily, once per run, on first use by a step, with their `${{ }}`
 * resolved (params, env, secrets, run); all are closed when the run ends.
 */
import type { RunbookModel } from '../dsl/model.js';
import type { Scope, SecretMasker } from '../dsl/expr/index.js';
import { connectionKind } from '../steps/registry.js';
import { resolveValue } from './resolve.js';
import { StepFailure, type RunServices } from '../steps/types.js';

export class ConnectionPool {
  private open = new Map<string, Promise<{ kind: string; client: unknown }>>();

  constructor(
    private readonly model: RunbookModel,
    private readonly scope: () => Scope,
    private readonly ctx: { runId: string; baseDir: string; env: NodeJS.ProcessEnv; masker?: SecretMasker; services?: RunServices },
  ) {}

  /** `kinds`: the kind the step needs, or the kinds it accepts (notify: slack, pagerduty, smtp, webhook). */
  async get<T>(name: string, kinds: string | readonly string[]): Promise<T> {
    const decl = this.model.connections[name];
    if (!decl) throw new StepFailure(`unknown connection '${name}'`, undefined, 'UNKNOWN_CONNECTION');
    const accepted: readonly string[] = typeof kinds === 'string' ? [kinds] : kinds;
    if (!accepted.includes(decl.kind)) throw new StepFailure(`connection '${name}' is ${decl.kind}, not ${accepted.join(' or ')}`, undefined, 'CONNECTION_KIND');
    const kind = decl.kind;
    let p = this.open.get(name);
    if (!p) {
      const k = connectionKind(kind);
      if (!k) throw new StepFailure(`no connection kind '${kind}'`);
      const config = resolveValue(decl.config, this.scope(), { urlFields: k.urlFields }) as Record<string, unknown>;
      // An Authorization header built from parts is a credential as a whole (spec §3).
      if (config.headers && typeof config.headers === 'object') this.ctx.masker?.addHeaders(config.headers as Record<string, unknown>);
      const openCtx = { name, runId: this.ctx.runId, baseDir: this.ctx.baseDir, env: this.ctx.env, services: this.ctx.services, connection: <C>(n: string, kk: string | readonly string[]) => this.get<C>(n, kk) };
      p = Promise.resolve().then(() => k.open(config, openCtx)).then((client) => ({ kind, client }));
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
