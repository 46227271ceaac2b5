// Values interpolated into a script string are single shell-quoted words; argv lists and nested
// text are left as they are.
import { describe, expect, it } from 'vitest';
import { resolveValue } from '../../src/interpreter/resolve.js';
import { dockerStep } from '../../src/steps/docker/index.js';
import { shellStep } from '../../src/steps/shell/index.js';

const evil = "x'; touch /tmp/pwned #";
const scope = { params: { v: evil, n: 3 } };

describe('resolveValue quoting', () => {
  it('quotes values in shell.run and in a docker cmd string', () => {
    expect(resolveValue({ run: 'echo ${{ params.v }}' }, scope, { quoteFields: shellStep.shellQuoted })).toEqual({
      run: `echo 'x'\\''; touch /tmp/pwned #'`,
    });
    expect(resolveValue({ action: 'exec', cmd: 'echo ${{ params.v }} ${{ params.n }}' }, scope, { quoteFields: dockerStep.shellQuoted })).toEqual({
      action: 'exec',
      cmd: `echo 'x'\\''; touch /tmp/pwned #' '3'`,
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
