/**
 * The command line's settings, resolved once: `runbook.config.yaml` (in the working directory, else
 * `$XDG_CONFIG_HOME/runbook/runbook.config.yaml`, `~/.config` when XDG_CONFIG_HOME is unset), then
 * `RUNBOOK_*` environment variables, then flags — each later one wins. Relative paths in the file are
 * relative to the file's folder. Other modules read the resolved values and never the sources.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { readRunbookText } from '../dsl/load.js';
import { DEFAULT_MAX_PARALLEL } from '../interpreter/slots.js';

export type ColorMode = 'auto' | 'always' | 'never';

export interface ResolvedConfig {
  /** Where runs live: a directory, `file:<dir>` or a store URL (`postgres://…`). */
  state: string;
  /** An inventory file, when one is configured. */
  inventory?: string;
  maxParallel: number;
  color: ColorMode;
  /** Where each value came from, for `--help` and error messages. */
  source: Record<'state' | 'inventory' | 'maxParallel' | 'color', string>;
  /** The config file read, if any. */
  file?: string;
}

export interface ConfigFlags {
  state?: string;
  stateDir?: string;
  inventory?: string;
  maxParallel?: string | number;
  color?: string | boolean;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const CONFIG_FILE = 'runbook.config.yaml';
const KEYS = ['state', 'inventory', 'max_parallel', 'color'] as const;
const COLORS: ColorMode[] = ['auto', 'always', 'never'];

/** The config file that applies: the working directory's, else the user's. */
export function configFile(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): string | undefined {
  const local = join(cwd, CONFIG_FILE);
  if (existsSync(local)) return local;
  const base = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  const user = join(base, 'runbook', CONFIG_FILE);
  return existsSync(user) ? user : undefined;
}

export function resolveConfig(flags: ConfigFlags = {}, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ResolvedConfig {
  const env = opts.env ?? process.env;
  const file = configFile(opts.cwd, env);
  const fromFile = file ? readConfigFile(file) : {};
  const at = (p: string) => resolve(dirname(file!), p);
  const cfg: ResolvedConfig = {
    state: '.runbook',
    maxParallel: DEFAULT_MAX_PARALLEL,
    color: 'auto',
    source: { state: 'default', inventory: 'default', maxParallel: 'default', color: 'default' },
    file,
  };
  // The config file.
  if (fromFile.state !== undefined) set(cfg, 'state', isUrl(fromFile.state) ? fromFile.state : at(fromFile.state), file!);
  if (fromFile.inventory !== undefined) set(cfg, 'inventory', at(fromFile.inventory), file!);
  if (fromFile.max_parallel !== undefined) set(cfg, 'maxParallel', maxParallel(fromFile.max_parallel, `${file}: max_parallel`), file!);
  if (fromFile.color !== undefined) set(cfg, 'color', color(fromFile.color, `${file}: color`), file!);
  // The environment (RUNBOOK_STATE_DIR is the v1 name of RUNBOOK_STATE; RUNBOOK_STATE wins).
  const envState = env.RUNBOOK_STATE || env.RUNBOOK_STATE_DIR;
  if (envState) set(cfg, 'state', envState, env.RUNBOOK_STATE ? 'RUNBOOK_STATE' : 'RUNBOOK_STATE_DIR');
  if (env.RUNBOOK_INVENTORY) set(cfg, 'inventory', env.RUNBOOK_INVENTORY, 'RUNBOOK_INVENTORY');
  if (env.RUNBOOK_MAX_PARALLEL) set(cfg, 'maxParallel', maxParallel(env.RUNBOOK_MAX_PARALLEL, 'RUNBOOK_MAX_PARALLEL'), 'RUNBOOK_MAX_PARALLEL');
  if (env.RUNBOOK_COLOR) set(cfg, 'color', color(env.RUNBOOK_COLOR, 'RUNBOOK_COLOR'), 'RUNBOOK_COLOR');
  // Flags.
  const flagState = flags.state ?? flags.stateDir;
  if (flagState !== undefined) set(cfg, 'state', flagState, flags.state !== undefined ? '--state' : '--state-dir');
  if (flags.inventory !== undefined) set(cfg, 'inventory', flags.inventory, '--inventory');
  if (flags.maxParallel !== undefined) set(cfg, 'maxParallel', maxParallel(flags.maxParallel, '--max-parallel'), '--max-parallel');
  if (flags.color !== undefined) set(cfg, 'color', flags.color === true ? 'always' : flags.color === false ? 'never' : color(flags.color, '--color'), '--color');
  return cfg;
}

/** The directory of a `file:` store (or a plain path); undefined for another kind of store. */
export function stateDirOf(state: string): string | undefined {
  if (state.startsWith('file:')) return state.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
  return isUrl(state) ? undefined : state;
}

function set<K extends keyof ResolvedConfig['source']>(cfg: ResolvedConfig, key: K, value: ResolvedConfig[K], source: string): void {
  (cfg as unknown as Record<string, unknown>)[key] = value;
  cfg.source[key] = source;
}

const isUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s) || s.startsWith('file:');

function maxParallel(v: unknown, where: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new ConfigError(`${where}: expected a whole number of steps from 1 to 100000, got ${JSON.stringify(v)}`);
  return n;
}

function color(v: unknown, where: string): ColorMode {
  if (v === true) return 'always';
  if (v === false) return 'never';
  if (typeof v === 'string' && (COLORS as string[]).includes(v)) return v as ColorMode;
  throw new ConfigError(`${where}: expected one of ${COLORS.join(', ')}, got ${JSON.stringify(v)}`);
}

function readConfigFile(file: string): Partial<Record<(typeof KEYS)[number], string>> & { max_parallel?: unknown; color?: unknown } {
  const text = readRunbookText(file, 1024 * 1024);
  if (typeof text !== 'string') throw new ConfigError(`${file}: ${text.message}`);
  // Loaded here only: most commands run without a config file.
  let data: unknown;
  try {
    const { parseDocument, LineCounter } = require_yaml();
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
    const err = doc.errors[0];
    if (err) {
      const { line, col } = lc.linePos(err.pos[0]);
      throw new ConfigError(`${file}:${line}:${col}: ${err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
    }
    data = doc.toJS({ maxAliasCount: 10 });
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`${file}: ${(e as Error).message}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`${file}: expected a map of settings (${KEYS.join(', ')})`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    if (!(KEYS as readonly string[]).includes(k)) throw new ConfigError(`${file}: unknown setting '${k}' (settings: ${KEYS.join(', ')})`);
    if ((k === 'state' || k === 'inventory') && (typeof v !== 'string' || v === '')) throw new ConfigError(`${file}: ${k}: expected a path or URL, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  return out;
}

const require_yaml = () => createRequire(import.meta.url)('yaml') as typeof import('yaml');

let cached: { key: string; cfg: ResolvedConfig } | undefined;
/** The process's config with these flags (memoized: commands ask more than once). */
export function cliConfig(flags: ConfigFlags = {}): ResolvedConfig {
  const key = JSON.stringify(flags);
  if (cached?.key !== key) cached = { key, cfg: resolveConfig(flags) };
  return cached.cfg;
}
