/**
 * Which store a command uses (spec §10): `--state <url>`, else `--state-dir <dir>`, else
 * $RUNBOOK_STATE, else $RUNBOOK_STATE_DIR, else `file:.runbook`. A flag beats the environment.
 */
import { FileStore } from './file/index.js';
import { StateStoreError } from './errors.js';
import type { StateStore } from './types.js';

export { StateStoreError } from './errors.js';

export interface StateChoice {
  state?: string;
  stateDir?: string;
}

/** The URL that `choice` and the environment select (not opened). */
export function stateUrlOf(choice: StateChoice, env: NodeJS.ProcessEnv = process.env): string {
  if (choice.state !== undefined && choice.stateDir !== undefined) throw new StateStoreError('--state and --state-dir exclude each other (--state-dir <dir> is --state file:<dir>)');
  if (choice.state !== undefined) return choice.state;
  if (choice.stateDir !== undefined) return `file:${choice.stateDir}`;
  if (env.RUNBOOK_STATE) return env.RUNBOOK_STATE;
  if (env.RUNBOOK_STATE_DIR) return `file:${env.RUNBOOK_STATE_DIR}`;
  return 'file:.runbook';
}

/**
 * Open the store; throws StateStoreError (one line, exit 2) for a bad URL or a store that cannot be used.
 * `readOnly` (history, report, attach, export, plan): a shared store is read as it is, never
 * created or migrated — those commands change nothing.
 */
export async function openStore(choice: StateChoice, env: NodeJS.ProcessEnv = process.env, opts: { readOnly?: boolean } = {}): Promise<StateStore> {
  const url = stateUrlOf(choice, env);
  if (url.startsWith('file:')) {
    let dir = url.slice('file:'.length);
    if (dir.startsWith('//')) dir = decodeURIComponent(new URL(url).pathname);
    if (dir === '') throw new StateStoreError(`bad state URL '${url}': file: needs a folder (file:.runbook, file:/var/lib/runbook)`);
    return new FileStore(dir);
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new StateStoreError(`bad state URL '${redactLoose(url)}': not a valid postgres:// URL`);
    }
    if (!parsed.hostname && !parsed.searchParams.get('host')) throw new StateStoreError(`bad state URL '${redactLoose(url)}': no host`);
    const { PostgresStore } = await import('./postgres/index.js');
    return new PostgresStore(url, opts);
  }
  throw new StateStoreError(`bad state URL '${redactLoose(url)}': use file:<dir> or postgres://user@host/db`);
}

/** A folder given where a store is expected (older callers pass --state-dir strings). */
export function storeOf(ref: StateStore | string): StateStore {
  return typeof ref === 'string' ? new FileStore(ref) : ref;
}

function redactLoose(url: string): string {
  return url.replace(/(\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}
