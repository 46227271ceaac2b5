// Params of a run: --set strings parsed to the declared type, required params, unknown names.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allDiagnostics, loadRunbook } from '../../src/dsl/validate.js';
import { parseSets, resolveParams } from '../../src/dsl/params.js';

const FILE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/params.yaml');
const loaded = loadRunbook(FILE);
const model = loaded.model!;

describe('resolveParams', () => {
  it('the fixture itself is valid', () => {
    expect(allDiagnostics(loaded)).toEqual([]);
  });

  it('reports a required param that is missing, at its declaration', () => {
    const r = resolveParams(model, {}, 'cli');
    expect(r.diagnostics).toMatchObject([
      { code: 'PARAM_REQUIRED', message: "missing required param 'target' (pass --set target=…): where to restore", line: 3, col: 11 },
    ]);
  });

  it('parses --set values to their types and applies defaults', () => {
    const sets = parseSets(['target=production', 'retries=5', 'force=yes', 'wait=2m', 'hosts=a, b']);
    expect(sets.errors).toEqual([]);
    const r = resolveParams(model, sets.values, 'cli');
    expect(r.diagnostics).toEqual([]);
    expect(r.values).toEqual({ target: 'production', retries: 5, force: true, wait: 120_000, hosts: ['a', 'b'] });
    expect(resolveParams(model, { target: 'staging' }, 'cli').values).toEqual({ target: 'staging', retries: 2, force: false, wait: 30_000, hosts: null });
  });

  it('reports a --set value of the wrong type, and a value outside the enum with a did-you-mean', () => {
    const r = resolveParams(model, parseSets(['target=prod', 'retries=three', 'force=maybe', 'wait=5 minutes']).values, 'cli');
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([
      ['PARAM_TYPE', `--set target: must be one of "staging", "production", got "prod" (did you mean 'production'?)`],
      ['PARAM_TYPE', '--set retries: expected an integer, got "three"'],
      ['PARAM_TYPE', '--set force: expected true or false, got "maybe"'],
      ['PARAM_TYPE', '--set wait: expected a duration like 30s or 5m, got "5 minutes"'],
    ]);
  });

  it('reports an unknown --set name with a did-you-mean, and a malformed --set', () => {
    const r = resolveParams(model, { target: 'staging', retires: '1' }, 'cli');
    expect(r.diagnostics).toMatchObject([{ code: 'PARAM_UNKNOWN', message: "--set retires: runbook 'params-fixture' has no param 'retires' (did you mean 'retries'?)" }]);
    expect(parseSets(['novalue', '=x']).errors).toEqual(['--set novalue: expected name=value', '--set =x: expected name=value']);
  });
});
