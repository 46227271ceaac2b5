import type { Decider } from '../interpreter/decisions.js';
import type { RunStore } from './store.js';

/** The TUI's Decider: every question becomes a prompt on screen, answered with keys (see `keys.ts`). */
export function createTuiDecider(store: RunStore, user: string): Decider {
  return {
    interactive: true,
    user,
    decide: (request, signal) => store.ask(request, signal),
  };
}
