/**
 * `follow` for the shared store: LISTEN first, then read the events so far, then read again at
 * each NOTIFY naming the run (the journal's inserts send one at commit), until `run.finished`.
 * A slow poll backs the notifications up (a dropped connection, a missed notify) and notices a run
 * whose runner has gone. Read-only: it never writes.
 */
import pg from 'pg';
import type { RunEvent } from '../../interpreter/events.js';
import type { FollowOptions } from '../types.js';
import { NOTIFY_CHANNEL } from './protocol.js';

const POLL_MS = 1000;
const STALE_CHECK_MS = 2000;

export async function followRun(url: string, store: { isLive(runId: string): boolean }, runId: string, onEvent: (e: RunEvent) => void, opts: FollowOptions): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'runbook attach', keepAlive: true });
  client.on('error', () => {});
  await client.connect();
  let last = 0;
  let done = false;
  let reading: Promise<void> | undefined;
  let again = false;
  let quietSince = Date.now();
  let wakeUp: (() => void) | undefined;

  const read = async (): Promise<void> => {
    const r = await client.query('SELECT seq::int, line FROM runbook.events WHERE run = $1 AND seq > $2 ORDER BY seq', [runId, last]);
    for (const row of r.rows as { seq: number; line: string }[]) {
      last = row.seq;
      quietSince = Date.now();
      const event = JSON.parse(row.line) as RunEvent;
      onEvent(event);
      if (event.type === 'run.finished') {
        done = true;
        break;
      }
    }
  };
  // Reads never overlap: a notify during a read asks for one more.
  const schedule = (): void => {
    if (reading) {
      again = true;
      return;
    }
    reading = read()
      .catch(() => {})
      .finally(() => {
        reading = undefined;
        if (done) wakeUp?.();
        else if (again) {
          again = false;
          schedule();
        }
      });
  };

  try {
    client.on('notification', (n) => {
      if (n.payload === runId) schedule();
    });
    await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
    await read();
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      clearTimeout(timer);
      wakeUp?.();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    while (!done && !opts.signal?.aborted) {
      await new Promise<void>((resolve) => {
        wakeUp = resolve;
        timer = setTimeout(resolve, POLL_MS);
      });
      clearTimeout(timer);
      if (done || opts.signal?.aborted) break;
      schedule();
      if (Date.now() - quietSince > STALE_CHECK_MS) {
        quietSince = Date.now();
        if (!store.isLive(runId)) {
          await reading;
          await read();
          if (!done) {
            opts.onStale?.('the run is not running any more (no runner holds its lease): continue it with `runbook resume`');
            return;
          }
        }
      }
    }
    await reading;
    opts.signal?.removeEventListener('abort', onAbort);
  } finally {
    await client.end().catch(() => {});
  }
}
