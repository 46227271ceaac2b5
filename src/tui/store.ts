/**
 * Between the interpreter and the screen: `push` only queues the event and raises a flag, so a step
 * printing 10,000 lines a second costs the interpreter an array push per line. The screen pulls a
 * `snapshot()` (which folds the queue into the state) at most once per frame. Pending operator
 * questions live here too, so the decider needs no React. No ink/react imports.
 */
import type { RunEvent } from '../interpreter/events.js';
import type { DecisionAnswer, DecisionRequest } from '../interpreter/decisions.js';
import { createState, reduceAll, type TuiState } from './state.js';

export interface PendingPrompt {
  id: number;
  request: DecisionRequest;
  askedAt: number;
}

export interface Snapshot {
  state: TuiState;
  /** The question on screen (the oldest one); others wait behind it. */
  prompt?: PendingPrompt;
  queuedPrompts: number;
  interrupts: number;
  /** Set by `finish()`: the run is over and the screen shows its summary. */
  done: boolean;
  reportPath?: string;
}

/** `urgent`: draw now (a question, Ctrl-C, the end) instead of waiting for the next frame. */
export type StoreListener = (urgent: boolean) => void;

export class RunStore {
  private state: TuiState = createState();
  private queue: RunEvent[] = [];
  private prompts: (PendingPrompt & { resolve: (a: DecisionAnswer) => void })[] = [];
  private listeners = new Set<StoreListener>();
  private dirty = false;
  private nextPromptId = 1;
  private interrupts = 0;
  private done = false;
  private reportPath?: string;
  private last?: Snapshot;

  push(event: RunEvent): void {
    this.queue.push(event);
    if (!this.dirty) this.changed(false);
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Folds queued events; returns the same object when nothing changed, so React can skip the frame. */
  snapshot(): Snapshot {
    if (!this.dirty && this.last) return this.last;
    if (this.queue.length > 0) {
      const events = this.queue;
      this.queue = [];
      this.state = reduceAll(this.state, events);
    }
    this.dirty = false;
    this.last = {
      state: this.state,
      prompt: this.prompts[0] && { id: this.prompts[0].id, request: this.prompts[0].request, askedAt: this.prompts[0].askedAt },
      queuedPrompts: Math.max(0, this.prompts.length - 1),
      interrupts: this.interrupts,
      done: this.done,
      reportPath: this.reportPath,
    };
    return this.last;
  }

  /** Queue a question for the operator. Rejects with the signal's reason when it aborts; the prompt disappears. */
  ask(request: DecisionRequest, signal: AbortSignal): Promise<DecisionAnswer> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const id = this.nextPromptId++;
      const onAbort = () => {
        this.removePrompt(id);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.prompts.push({
        id,
        request,
        askedAt: Date.now(),
        resolve: (a) => {
          signal.removeEventListener('abort', onAbort);
          resolve(a);
        },
      });
      this.changed(true);
    });
  }

  /** The operator answered prompt `id` (ignored when it was withdrawn meanwhile). */
  answer(id: number, answer: DecisionAnswer): void {
    const p = this.prompts.find((x) => x.id === id);
    if (!p) return;
    this.removePrompt(id);
    p.resolve(answer);
  }

  /** Ctrl-C: returns how many times it has been pressed. */
  interrupt(): number {
    this.interrupts++;
    this.changed(true);
    return this.interrupts;
  }

  finish(reportPath?: string): void {
    this.done = true;
    this.reportPath = reportPath;
    this.changed(true);
  }

  private removePrompt(id: number): void {
    const before = this.prompts.length;
    this.prompts = this.prompts.filter((p) => p.id !== id);
    if (this.prompts.length !== before) this.changed(true);
  }

  private changed(urgent: boolean): void {
    this.dirty = true;
    for (const l of this.listeners) l(urgent);
  }
}
