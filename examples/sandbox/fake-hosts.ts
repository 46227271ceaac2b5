/**
 * The sandbox's fake hosts (spec §9): real sshd instances on 127.0.0.2, 127.0.0.3, … (see
 * services/sshd.ts) standing for a database host and the app tier, an Ansible inventory naming
 * them (db-1, app-1, app-2, …) with the vars the runbooks read, and the environment that points
 * the runbooks at them: RUNBOOK_INVENTORY, SSH_KEY_FILE, SSH_KNOWN_HOSTS. Each app host runs the
 * trading service from its own folder (services/app-host.ts). Needs root and openssh-server;
 * `fakeHostsUnavailableReason()` says why not.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAppHost, type AppHost, type ReleaseSpec } from './services/app-host.js';
import { sshdUnavailableReason, startSshd, stopSshd, type SshdCluster, type SshdHost } from './services/sshd.js';

export interface FakeHostsOptions {
  /** App hosts (app-1 …), default 2. */
  app?: number;
  /** A database host (db-1) first, default false. */
  db?: boolean;
  /** Where the database host's PostgreSQL listens (vars pg_address, pg_port); the app hosts' health checks reach it too. */
  database?: { address: string; port: number };
  /** Releases deployed on every app host (default 1.4.2 and 1.5.0) and the one running (default 1.4.2). */
  releases?: Record<string, ReleaseSpec>;
  current?: string;
}

export interface FakeHosts {
  cluster: SshdCluster;
  /** The inventory file (Ansible YAML). */
  inventory: string;
  app: AppHost[];
  db?: SshdHost & { inventoryName: string };
  /** RUNBOOK_INVENTORY, SSH_KEY_FILE, SSH_KNOWN_HOSTS for the runbook CLI. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** The release the app tier runs, and the one a rolling restart moves it to (as in the container drills). */
export const STABLE_RELEASE = '1.4.2';
export const NEW_RELEASE = '1.5.0';
/** The setting NEW_RELEASE refuses to start without (a configuration drift a rolling restart meets). */
export const NEW_RELEASE_SETTING = 'PRICING_URL';

export const DEFAULT_RELEASES: Record<string, ReleaseSpec> = { [STABLE_RELEASE]: {}, [NEW_RELEASE]: { requires: [NEW_RELEASE_SETTING] } };

export function fakeHostsUnavailableReason(): string | undefined {
  return sshdUnavailableReason();
}

export async function startFakeHosts(o: FakeHostsOptions = {}): Promise<FakeHosts> {
  const appCount = o.app ?? 2;
  const dbCount = o.db ? 1 : 0;
  const cluster = await startSshd(dbCount + appCount);
  const app: AppHost[] = [];
  const stop = async () => {
    for (const h of app.splice(0)) await h.stop().catch(() => undefined);
    await stopSshd(cluster);
  };
  try {
    const gid = Number(execFileSync('id', ['-g', cluster.user], { encoding: 'utf8' }).trim());
    for (let i = 0; i < appCount; i++) {
      const s = cluster.hosts[dbCount + i];
      app.push(
        await startAppHost({
          name: `app-${i + 1}`,
          dir: s.dir,
          address: s.address,
          uid: cluster.uid,
          gid,
          releases: o.releases ?? DEFAULT_RELEASES,
          current: o.current ?? STABLE_RELEASE,
          config: {
            [NEW_RELEASE_SETTING]: 'http://pricing.internal:8090',
            ...(o.database ? { DB_ADDRESS: o.database.address, DB_PORT: String(o.database.port) } : {}),
          },
        }),
      );
    }
    const db = o.db ? { ...cluster.hosts[0], inventoryName: 'db-1' } : undefined;
    const inventory = join(cluster.root, 'inventory.yaml');
    writeFileSync(inventory, inventoryText(cluster, app, db, o.database));
    return {
      cluster,
      inventory,
      app,
      db,
      env: { RUNBOOK_INVENTORY: inventory, SSH_KEY_FILE: cluster.keyFile, SSH_KNOWN_HOSTS: cluster.knownHosts },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The hosts as an operator's inventory would hold them (runbooks/inventory/example.yaml's shape). */
function inventoryText(c: SshdCluster, app: AppHost[], db: FakeHosts['db'], database: FakeHostsOptions['database']): string {
  const port = (address: string) => c.hosts.find((h) => h.address === address)!.port;
  const entry = (name: string, vars: Record<string, unknown>) =>
    `            ${name}:\n${Object.entries(vars).map(([k, v]) => `              ${k}: ${JSON.stringify(v)}`).join('\n')}\n`;
  let text = `# The sandbox's fake hosts: sshd on loopback addresses, each host a folder on this machine.\nall:\n  vars:\n    ansible_user: ${c.user}\n  children:\n    trademaster:\n      children:\n`;
  if (db) {
    text += `        db:\n          hosts:\n`;
    text += entry(db.inventoryName, { ansible_host: db.address, ansible_port: db.port, pg_address: database?.address ?? '127.0.0.1', pg_port: database?.port ?? 5432, pg_data: db.dir });
  }
  text += `        app:\n          hosts:\n`;
  for (const h of app) text += entry(h.name, { ansible_host: h.address, ansible_port: port(h.address), app_dir: h.dir, app_url: h.url });
  return text;
}
