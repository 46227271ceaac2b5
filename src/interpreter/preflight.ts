/**
 * `plan --preflight`: read-only checks of every connection and of every target a step names
 * (through each type's `preflight`). Nothing is changed; every check is reported, pass or fail.
 */
import { containsUnknown } from '../dsl/expr/values.js';
import { UNKNOWN } from '../dsl/expr/index.js';
import type { LoadedRunbook } from '../dsl/validate.js';
import type { RunbookModel } from '../dsl/model.js';
import type { PreflightCheck, StepContext } from '../steps/types.js';
import { connectionKind, stepType } from '../steps/registry.js';
import { readSecrets } from './secrets.js';
import { resolveValue } from './resolve.js';
import { ConnectionPool } from './connections.js';
import { planScopes } from './plan.js';
import type { Inventory } from '../inventory/index.js';
import { SshPool } from '../transport/ssh/pool.js';
import type { DockerClient } from '../steps/docker/index.js';
import { hostContexts, onlyOnHosts, preflightOnHosts } from './preflight-hosts.js';

export async function runPreflight(loaded: LoadedRunbook, params: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env, inventory?: Inventory): Promise<PreflightCheck[]> {
  const model = loaded.model as RunbookModel;
  const checks: PreflightCheck[] = [];
  const secrets = readSecrets(model, env);
  for (const d of secrets.diagnostics) checks.push({ target: `secret ${d.message.split(':')[0].replace(/^secret /, '')}`, ok: false, detail: d.message });
  const runId = 'preflight';
  const scope = { ...planScopes(model, params, env).evaluate, secrets: secrets.values, run: { id: runId, dry_run: true, interactive: false } };
  const services = { ssh: new SshPool(), ...(inventory ? { inventory } : {}) };
  const pool = new ConnectionPool(model, () => scope, { runId, baseDir: model.baseDir, env, services });
  const signal = AbortSignal.timeout(30_000);

  for (const [name, c] of Object.entries(model.connections)) {
    const kind = connectionKind(c.kind);
    const target = `connection ${name} (${c.kind})`;
    try {
      const config = resolveValue(c.config, scope, { urlFields: kind?.urlFields }) as Record<string, unknown>;
      const client = await pool.get(name, c.kind);
      const onHosts = c.kind === 'docker' && kind?.preflight ? onlyOnHosts(model, name) : undefined;
      if (onHosts) {
        // Only `on:` steps use it: its engine is each host's, checked there.
        checks.push(...(await preflightOnHosts(pool, kind!, client as DockerClient, config, onHosts, target)));
        continue;
      }
      // A kind may report several lines (ssh: one per host, its key and its login).
      const rs = kind?.preflight ? [await kind.preflight(client, config)].flat() : [{ ok: true, detail: 'opened', target }];
      for (const r of rs) checks.push({ ...r, target: `${target}${r.target && r.target !== target ? ` ${r.target}` : ''}` });
    } catch (e) {
      checks.push({ target, ok: false, detail: (e as Error).message });
    }
  }

  const base: StepContext = {
    signal,
    runId,
    stepId: '',
    baseDir: model.baseDir,
    env,
    connection: (name, kind) => pool.get(name, kind),
    output: () => {},
    progress: () => {},
  };
  for (const s of model.steps.values()) {
    let instances: { label: string; host?: unknown; ctx: StepContext }[] = [{ label: s.id, ctx: { ...base, stepId: s.id } }];
    if (s.on && [s, s.rollback].some((b) => b && stepType(b.type)?.preflight)) {
      try {
        instances = await hostContexts(pool, s, base, services);
      } catch (e) {
        checks.push({ target: `step ${s.id}`, ok: false, detail: (e as Error).message });
        continue;
      }
    }
    for (const inst of instances) {
      for (const [b, label] of [[s, inst.label], [s.rollback, `${inst.label} (rollback)`]] as const) {
        const t = b && stepType(b.type);
        if (!b || !t?.preflight) continue;
        // self/item/index only exist while the run goes: a body that needs them is checked then.
        let body: unknown;
        try {
          const local = { ...scope, self: UNKNOWN, item: UNKNOWN, index: UNKNOWN, ...(inst.host ? { host: inst.host } : {}) };
          body = resolveValue(b.body, local, { keepUnknown: false, urlFields: t.urlFields });
        } catch (e) {
          checks.push({ target: `step ${label}`, ok: false, detail: (e as Error).message });
          continue;
        }
        if (body === undefined || containsUnknown(body)) {
          checks.push({ target: `step ${label}`, ok: true, detail: 'skipped: depends on values known only at run time' });
          continue;
        }
        try {
          for (const c of await t.preflight(body as Record<string, unknown>, inst.ctx)) checks.push({ ...c, target: `step ${label}: ${c.target}` });
        } catch (e) {
          checks.push({ target: `step ${label}`, ok: false, detail: (e as Error).message });
        }
      }
    }
  }
  await pool.closeAll();
  await services.ssh.close(0);
  return checks;
}
