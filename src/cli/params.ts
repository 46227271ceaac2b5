/**
 * A run's params from the command line: `--params-file FILE` (YAML or JSON, a map of name → value),
 * then `--set name=value` over it. Every problem is printed (exit 2, nothing executed), each named
 * by where the value came from. Also `runbook params FILE` and the params part of `run FILE --help`.
 */
import { parseSets, resolveParams, itemTypeOf } from '../dsl/params.js';
import { readRunbookText } from '../dsl/load.js';
import type { RunbookModel } from '../dsl/model.js';
import { stringifyValue } from '../dsl/expr/index.js';
import { formatDuration } from '../dsl/duration.js';
import { printDiagnostics } from './output.js';
import { createRequire } from 'node:module';

export interface ParamFlags {
  set?: string[];
  paramsFile?: string;
}

/** The params of a run, or undefined after printing why not. */
export function cliParams(model: RunbookModel, opts: ParamFlags): Record<string, unknown> | undefined {
  const sets = parseSets(opts.set ?? []);
  if (sets.errors.length) {
    for (const e of sets.errors) process.stderr.write(`${e}\n`);
    return undefined;
  }
  let fromFile: Record<string, unknown> = Object.create(null);
  if (opts.paramsFile !== undefined) {
    const read = readParamsFile(opts.paramsFile);
    if (typeof read === 'string') {
      process.stderr.write(`runbook: --params-file ${read}\n`);
      return undefined;
    }
    fromFile = read;
  }
  const given: Record<string, unknown> = Object.assign(Object.create(null), fromFile, sets.values);
  const setNames = new Set(Object.keys(sets.values));
  const origin = (name: string) => (setNames.has(name) ? `--set ${name}` : `${opts.paramsFile}: ${name}`);
  const params = resolveParams(model, given, 'cli', origin);
  if (params.diagnostics.length) {
    printDiagnostics(params.diagnostics);
    return undefined;
  }
  return params.values;
}

/** A params file as a map, or a message saying why it is not one. */
export function readParamsFile(file: string): Record<string, unknown> | string {
  const text = readRunbookText(file, 1024 * 1024);
  if (typeof text !== 'string') return `${file}: ${text.message}`;
  let data: unknown;
  try {
    // YAML is a superset of JSON: one parser reads both. Loaded here only.
    data = requireYaml().parse(text, { uniqueKeys: true, maxAliasCount: 10 });
  } catch (e) {
    return `${file}: not YAML or JSON: ${(e as Error).message.split('\n')[0]}`;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return `${file}: expected a map of param name → value`;
  // No prototype: a `__proto__` key is reported as an unknown param like any other.
  return Object.assign(Object.create(null), Object.fromEntries(Object.entries(data)));
}

const requireYaml = () => createRequire(import.meta.url)('yaml') as typeof import('yaml');

/** The params of a runbook as a table: name, type, default, required, allowed values, description. */
export function describeParams(model: RunbookModel): string {
  if (!model.params.length) return `runbook '${model.id}' has no params`;
  const rows = model.params.map((p) => {
    const items = itemTypeOf(p);
    const type = p.type === 'list' && items ? `list of ${items}` : p.type;
    const def = p.default === undefined ? (p.required ? '(required)' : '—') : p.type === 'duration' && typeof p.default === 'number' ? formatDuration(p.default) : stringifyValue(p.default);
    const allowed = p.enum ? p.enum.map((e) => stringifyValue(e)).join(' | ') : p.pattern ? `/${p.pattern}/` : '';
    return [p.name, type, def, allowed, p.description ?? ''];
  });
  const head = ['PARAM', 'TYPE', 'DEFAULT', 'ALLOWED', 'DESCRIPTION'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const lines = [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
  return `Params of runbook '${model.id}' (set with --set name=value or --params-file FILE):\n${lines.map((l) => `  ${l}`).join('\n')}`;
}

/** `runbook params FILE [--json]`. */
export async function paramsCommand(file: string, opts: { json?: boolean }): Promise<number> {
  const { loadOrReport } = await import('./output.js');
  const loaded = loadOrReport(file);
  if (!loaded) return 2;
  const model = loaded.model;
  if (opts.json) {
    const list = model.params.map((p) => ({ name: p.name, type: p.type, ...(itemTypeOf(p) ? { items: itemTypeOf(p) } : {}), default: p.default ?? null, required: p.required, enum: p.enum ?? null, pattern: p.pattern ?? null, description: p.description ?? null }));
    process.stdout.write(JSON.stringify({ runbook: model.id, params: list }, null, 2) + '\n');
  } else process.stdout.write(describeParams(model) + '\n');
  return 0;
}

/** The params section `run FILE --help` appends, or a line saying why the file cannot be read. */
export async function paramsHelp(file: string): Promise<string> {
  const { loadRunbook, allDiagnostics } = await import('../dsl/validate.js');
  const loaded = loadRunbook(file);
  const errors = allDiagnostics(loaded).filter((d) => d.severity !== 'warning');
  if (!loaded.model || errors.length) return `\n${file}: invalid runbook (${errors.length} error${errors.length === 1 ? '' : 's'}; see runbook validate ${file})\n`;
  return `\n${describeParams(loaded.model)}\n`;
}
