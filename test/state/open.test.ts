/** Which store a command opens (spec §10): flags beat the environment; bad URLs are one-line errors. */
import { describe, expect, it } from 'vitest';
import { openStore, stateUrlOf, StateStoreError } from '../../src/state/open.js';
import { FileStore } from '../../src/state/file/index.js';

describe('state URL', () => {
  it('chooses --state, then --state-dir, then $RUNBOOK_STATE, then $RUNBOOK_STATE_DIR, then file:.runbook', () => {
    const env = { RUNBOOK_STATE: 'postgres://env/db', RUNBOOK_STATE_DIR: '/env-dir' };
    expect(stateUrlOf({ state: 'file:/a' }, env)).toBe('file:/a');
    expect(stateUrlOf({ stateDir: '/b' }, env)).toBe('file:/b');
    expect(stateUrlOf({}, env)).toBe('postgres://env/db');
    expect(stateUrlOf({}, { RUNBOOK_STATE_DIR: '/env-dir' })).toBe('file:/env-dir');
    expect(stateUrlOf({}, {})).toBe('file:.runbook');
    expect(() => stateUrlOf({ state: 'file:/a', stateDir: '/b' }, {})).toThrow(StateStoreError);
  });

  it('opens file: URLs as the local store (relative, absolute, file:///)', async () => {
    for (const [url, dir] of [
      ['file:.runbook', '.runbook'],
      ['file:/var/lib/runbook', '/var/lib/runbook'],
      ['file:///var/lib/run%20book', '/var/lib/run book'],
    ]) {
      const store = await openStore({ state: url }, {});
      expect(store).toBeInstanceOf(FileStore);
      expect((store as FileStore).dir).toBe(dir);
    }
  });

  it.each([
    ['file:', /file: needs a folder/],
    ['mysql://db/x', /use file:<dir> or postgres:/],
    ['postgres://', /no host|not a valid/],
    ['/just/a/path', /use file:<dir> or postgres:/],
  ])('refuses %s in one line, without the password', async (url, message) => {
    const err = await openStore({ state: url }, {}).catch((e: Error) => e);
    expect(err).toBeInstanceOf(StateStoreError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });
});
