// Values interpolated into a script string are single shell-quoted words; argv lists and nested
// text are left as they are.
import { describe, expect, it } from 'vitest';
import { resolveValue } from '../../src/interpreter/resolve.js';
import { dockerStep } from '../../src/steps/docker/index.js';
import { shellStep } from '../../src/steps/shell/index.js';

const evil = "x'; touch /tmp/pwned #";
const scope = { params: { v: evil, n: 3 } };

describe('resolveValue quoting', () => {
  it('passes values in shell.run and in a docker cmd string as variables of the step (spec §12)', () => {
    expect(resolveValue({ run: 'echo ${{ params.v }}' }, scope, { quoteFields: shellStep.shellQuoted })).toEqual({
      run: 'echo "${RUNBOOK_V_0}"',
      env: { RUNBOOK_V_0: evil },
    });
    expect(
      resolveValue({ action: 'exec', cmd: 'echo ${{ params.v }} "${{ params.n }}"', env: { A: '${{ params.n }}' } }, scope, { quoteFields: dockerStep.shellQuoted }),
    ).toEqual({
      action: 'exec',
      cmd: 'echo "${RUNBOOK_V_0}" "${RUNBOOK_V_1}"',
      env: { A: 3, RUNBOOK_V_0: evil, RUNBOOK_V_1: '3' },
    });
  });

  it('shows values quoted in place for plan and --step (display), with no variables', () => {
    expect(resolveValue({ run: 'echo ${{ params.v }} "${{ params.v }}"' }, scope, { quoteFields: shellStep.shellQuoted, display: true })).toEqual({
      run: `echo 'x'\\''; touch /tmp/pwned #' "x'; touch /tmp/pwned #"`,
    });
  });

  it('leaves argv lists, nested values and other fields unquoted, with types kept', () => {
    expect(
      resolveValue(
        { action: 'exec', cmd: ['echo', '${{ params.v }}'], env: { V: '${{ params.v }}' }, tail: '${{ params.n }}' },
        scope,
        { quoteFields: dockerStep.shellQuoted },
      ),
    ).toEqual({ action: 'exec', cmd: ['echo', evil], env: { V: evil }, tail: 3 });
    expect(resolveValue({ command: ['printf', '%s', '${{ params.v }}'] }, scope, { quoteFields: shellStep.shellQuoted })).toEqual({
      command: ['printf', '%s', evil],
    });
  });
});
