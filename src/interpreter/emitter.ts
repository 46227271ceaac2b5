/**
 * Every event goes through here: stamped (`ts`, `run`), secrets masked, appended to the journal,
 * handed to the views. The journal is flushed (fsync) only when a side effect is about to start
 * and at the end (spec §6), so control steps stay cheap.
 */
import type { EventInput, EventListener, RunEvent } from './events.js';
import type { JournalSink } from '../state/types.js';
import type { SecretMasker } from '../dsl/expr/index.js';

export class Emitter {
  private listeners: EventListener[] = [];

  constructor(
    readonly runId: string,
    private readonly journal: JournalSink | undefined,
    readonly masker: SecretMasker,
  ) {}

  on(listener: EventListener): void {
    this.listeners.push(listener);
  }

  emit(input: EventInput): RunEvent {
    if (this.sealed) return { ts: new Date().toISOString(), run: this.runId, ...input } as RunEvent;
    const raw = { ts: new Date().toISOString(), run: this.runId, ...input } as RunEvent;
    const event = this.masker.size ? this.masker.maskEvent(raw) : raw;
    this.journal?.append(event);
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A broken view must never stop a recovery.
      }
    }
    return event;
  }

  /** Make everything emitted so far durable (before a side effect starts). */
  flush(): void {
    this.journal?.flush();
  }

  close(): void {
    this.closed = true;
    this.journal?.close();
  }

  /** After `close()` (run.finished written) nothing more is emitted. */
  closed = false;

  /**
   * The run was taken over (its lease lost, spec §10): from now on nothing reaches the journal or
   * the views. What this runner does while it stops is not the run's story any more.
   */
  seal(): void {
    this.sealed = true;
  }

  sealed = false;
}
