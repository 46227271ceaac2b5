import { useInput } from 'ink';
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
}

/** Keys → answers to the prompt on screen, else navigation; Ctrl-C (raw mode swallows SIGINT) → interrupt. */
export function useOperatorKeys(k: OperatorKeys): void {
  useInput((input, key) => {
    if (key.ctrl && input === 'c') {
      k.onInterrupt(k.store.interrupt());
      return;
    }
    const prompt = k.snap.prompt;
    if (prompt) {
      const pick = prompt.request.kind === 'rollback' ? (k.pick?.id === prompt.id ? k.pick.pick : startRollbackPick(prompt.request.steps)) : undefined;
      const result = answerKey(prompt.request, input, key, pick);
      if (result && 'answer' in result) {
        k.setPick(undefined);
        k.store.answer(prompt.id, result.answer);
        return;
      }
      if (result) {
        k.setPick({ id: prompt.id, pick: result.pick });
        return;
      }
    }
    const next = navigateKey(k.view, input, key, k.steps, k.current, k.page, k.maxScroll);
    if (next) k.setView(next);
  });
}
