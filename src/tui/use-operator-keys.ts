import { useRef } from 'react';
import { useInput, useStdin } from 'ink';
import type { RunStore, Snapshot } from './store.js';
import { answerKey, navigateKey, startRollbackPick, type RollbackPick, type View } from './keys.js';

export interface OperatorKeys {
  store: RunStore;
  snap: Snapshot;
  pick?: { id: number; pick: RollbackPick };
  setPick: (p: { id: number; pick: RollbackPick } | undefined) => void;
  view: View;
  setView: (v: View) => void;
  /** Step ids selectable with ↑/↓, in screen order. */
  steps: string[];
  current?: string;
  page: number;
  maxScroll: number;
  onInterrupt: (count: number) => void;
  /** A prompt whose body is taller than its window: PgUp/PgDn scroll it (instead of the log). */
  promptScroll?: { value: number; max: number; page: number; set: (v: number) => void };
}

/** Keys → answers to the prompt on screen, else navigation; Ctrl-C (raw mode swallows SIGINT) → interrupt. */
export function useOperatorKeys(keys: OperatorKeys): void {
  // ink re-subscribes the handler in an effect, after the frame is written: a key pressed right after a
  // prompt appears would reach the previous render's handler. Read the latest render's values instead.
  const latest = useRef(keys);
  latest.current = keys;
  // without a terminal on stdin there are no keys to read (and ink would throw enabling raw mode)
  const { isRawModeSupported } = useStdin();
  useInput((input, key) => {
    const k = latest.current;
    if (key.ctrl && input === 'c') {
      k.onInterrupt(k.store.interrupt());
      return;
    }
    const prompt = k.snap.prompt;
    const ps = k.promptScroll;
    if (prompt && ps && (key.pageUp || key.pageDown)) {
      const value = Math.max(0, Math.min(ps.max, ps.value + (key.pageDown ? ps.page : -ps.page)));
      latest.current = { ...k, promptScroll: { ...ps, value } };
      ps.set(value);
      return;
    }
    if (prompt) {
      const pick = prompt.request.kind === 'rollback' ? (k.pick?.id === prompt.id ? k.pick.pick : startRollbackPick(prompt.request.steps)) : undefined;
      const result = answerKey(prompt.request, input, key, pick);
      // keys typed faster than frames must see each other's effect: update `latest` at once too
      if (result && 'answer' in result) {
        latest.current = { ...k, pick: undefined, snap: { ...k.snap, prompt: undefined } };
        k.setPick(undefined);
        k.store.answer(prompt.id, result.answer);
        return;
      }
      if (result) {
        const pick = { id: prompt.id, pick: result.pick };
        latest.current = { ...k, pick };
        k.setPick(pick);
        return;
      }
    }
    const next = navigateKey(k.view, input, key, k.steps, k.current, k.page, k.maxScroll);
    if (next) {
      latest.current = { ...k, view: next };
      k.setView(next);
    }
  }, { isActive: isRawModeSupported });
}
