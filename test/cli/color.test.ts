// The colour decision of the views: the `color` setting first (resolved with its precedence by
// config.ts), the ecosystem's conventions in `auto`. The CLI is tested end to end in
// test/tui/plain-cli.test.ts and test/tui/tmux.test.ts.
import { describe, expect, it } from 'vitest';
import { viewColorLevel } from '../../src/cli/color.js';

describe('viewColorLevel', () => {
  it('auto follows FORCE_COLOR, NO_COLOR and the terminal', () => {
    expect(viewColorLevel('auto', {}, true)).toBe(1);
    expect(viewColorLevel('auto', {}, false)).toBe(0);
    expect(viewColorLevel('auto', { NO_COLOR: '1' }, true)).toBe(0);
    expect(viewColorLevel('auto', { FORCE_COLOR: '1' }, false)).toBe(1);
    expect(viewColorLevel('auto', { FORCE_COLOR: '0' }, true)).toBe(0);
    expect(viewColorLevel('auto', { TERM: 'xterm-256color' }, true)).toBe(2);
  });

  it('always colours wherever the output goes, as deep as the terminal type says, over NO_COLOR and FORCE_COLOR=0', () => {
    expect(viewColorLevel('always', {}, false)).toBe(1);
    expect(viewColorLevel('always', { NO_COLOR: '1' }, false)).toBe(1);
    expect(viewColorLevel('always', { FORCE_COLOR: '0' }, true)).toBe(1);
    expect(viewColorLevel('always', { TERM: 'dumb' }, true)).toBe(1);
    expect(viewColorLevel('always', { COLORTERM: 'truecolor' }, false)).toBe(3);
  });

  it('never is never, whatever FORCE_COLOR says', () => {
    expect(viewColorLevel('never', {}, true)).toBe(0);
    expect(viewColorLevel('never', { FORCE_COLOR: '3' }, true)).toBe(0);
  });
});
