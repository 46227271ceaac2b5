/**
 * `follow` for the local store: read the journal from the start, then poll for appended bytes
 * (the writer writes buffered lines within ~100 ms, see journal.ts) until `run.finished`.
 * Polling, not fs.watch: watch events are lost on some filesystems (NFS, overlay) and coalesced.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { RunEvent } from '../../interpreter/events.js';
import { sleep } from '../../interpreter/timers.js';
import type { FollowOptions } from '../types.js';

const POLL_MS = 50;
/** Without new bytes for this long, check whether anybody still runs the run. */
const STALE_CHECK_MS = 2000;

export async function tailJournal(file: string, onEvent: (e: RunEvent) => void, opts: FollowOptions & { isLive: () => boolean }): Promise<void> {
  let fd: number | undefined;
  let offset = 0;
  let partial = '';
  let quietSince = Date.now();
  const buf = Buffer.alloc(256 * 1024);
  try {
    for (;;) {
      if (opts.signal?.aborted) return;
      if (fd === undefined) {
        try {
          fd = openSync(file, 'r');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      }
      let n = 0;
      if (fd !== undefined) {
        while ((n = readSync(fd, buf, 0, buf.length, offset)) > 0) {
          offset += n;
          quietSince = Date.now();
          const text = partial + buf.toString('utf8', 0, n);
          const lines = text.split('\n');
          partial = lines.pop()!;
          for (const line of lines) {
            if (!line.trim()) continue;
            let event: RunEvent;
            try {
              event = JSON.parse(line) as RunEvent;
            } catch {
              continue;
            }
            onEvent(event);
            if (event.type === 'run.finished') return;
          }
        }
      }
      if (Date.now() - quietSince > STALE_CHECK_MS) {
        quietSince = Date.now();
        if (!opts.isLive()) {
          opts.onStale?.('the run is not running any more (its runner died before run.finished): continue it with `runbook resume`');
          return;
        }
      }
      try {
        await sleep(POLL_MS, opts.signal);
      } catch {
        return;
      }
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
