// A step reading another step's results without waiting for it is a warning at validation: the
// runbook still runs, but what it reads depends on timing (or is always 'pending').
import { describe, expect, it } from 'vitest';
import { allDiagnostics, loadRunbook } from '../../src/dsl/validate.js';
import { isError } from '../../src/dsl/errors.js';

const file = new URL('../runbooks/warnings-race.yaml', import.meta.url).pathname;

describe('race warnings', () => {
  it('warns, at the reading expression, for a concurrent or a later step; errors stay empty', () => {
    const ds = allDiagnostics(loadRunbook(file));
    expect(ds.filter(isError)).toEqual([]);
    expect(ds.map((d) => [d.code, d.severity, d.line, d.col, d.message])).toEqual([
      ['RACE', 'warning', 11, 14, "step 'b' reads steps.a but does not wait for it, so they may run at the same time: add 'a' to its needs"],
      ['RACE', 'warning', 14, 15, "step 'c' reads steps.later, which runs after it: it will always read status 'pending'"],
    ]);
  });
});
