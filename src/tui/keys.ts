/**
 * What a key press means: answers to the prompt on screen, or navigation of the step list and log.
 * Pure, so every key of every prompt is tested without a terminal. No ink/react imports.
 */
import type { DecisionAnswer, DecisionRequest } from '../interpreter/decisions.js';

/** The subset of ink's `Key` that matters here. */
export interface KeyInfo {
  upArrow?: boolean;
  downArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  return?: boolean;
  ctrl?: boolean;
  escape?: boolean;
}

/** Choices being made in the rollback prompt: which rollbacks are ticked, where the cursor is. */
export interface RollbackPick {
  cursor: number;
  picked: boolean[];
}

export function startRollbackPick(steps: string[]): RollbackPick {
  return { cursor: 0, picked: steps.map(() => true) };
}

export type PromptKeyResult = { answer: DecisionAnswer } | { pick: RollbackPick } | null;

/** The answer a key gives to `request`; `pick` is the rollback prompt's state. Null: the key means nothing here. */
export function answerKey(request: DecisionRequest, input: string, key: KeyInfo, pick?: RollbackPick): PromptKeyResult {
  const k = input.toLowerCase();
  switch (request.kind) {
    case 'step':
      if (key.return) return { answer: { kind: 'step', action: 'run' } };
      if (k === 's') return { answer: { kind: 'step', action: 'skip' } };
      if (k === 'a') return { answer: { kind: 'step', action: 'abort' } };
      if (k === 'c') return { answer: { kind: 'step', action: 'continue' } };
      return null;
    case 'confirm':
      if (k === 'y') return { answer: { kind: 'confirm', approved: true } };
      if (k === 'n') return { answer: { kind: 'confirm', approved: false } };
      return null;
    case 'failure':
      if (k === 'r') return { answer: { kind: 'failure', action: 'retry' } };
      if (k === 's') return { answer: { kind: 'failure', action: 'skip' } };
      if (k === 'i') return { answer: { kind: 'failure', action: 'ignore' } };
      if (k === 'a') return { answer: { kind: 'failure', action: 'abort' } };
      return null;
    case 'inflight':
      if (k === 'r') return { answer: { kind: 'inflight', action: 'rerun' } };
      if (k === 's') return { answer: { kind: 'inflight', action: 'skip' } };
      return null;
    case 'rollback': {
      const p = pick ?? startRollbackPick(request.steps);
      const n = request.steps.length;
      if (key.return) return { answer: { kind: 'rollback', steps: request.steps.filter((_, i) => p.picked[i]) } };
      if (key.upArrow) return { pick: { ...p, cursor: Math.max(0, p.cursor - 1) } };
      if (key.downArrow) return { pick: { ...p, cursor: Math.min(n - 1, p.cursor + 1) } };
      if (input === ' ') return { pick: { ...p, picked: p.picked.map((v, i) => (i === p.cursor ? !v : v)) } };
      if (k === 'a') return { pick: { ...p, picked: p.picked.map(() => true) } };
      if (k === 'n') return { pick: { ...p, picked: p.picked.map(() => false) } };
      return null;
    }
  }
}

/** Where the operator looks: the followed step (or one picked with ↑/↓) and how far the log is scrolled up. */
export interface View {
  follow: boolean;
  selected?: string;
  /** Lines scrolled up from the end of the log. */
  scroll: number;
}

/** Navigation keys: ↑/↓ pick a step (stop following), PgUp/PgDn scroll the log, `f` follows again. */
export function navigateKey(view: View, input: string, key: KeyInfo, steps: string[], current: string | undefined, page: number, maxScroll: number): View | null {
  if (key.upArrow || key.downArrow) {
    if (steps.length === 0) return null;
    const from = steps.indexOf(view.selected ?? current ?? '');
    const i = from < 0 ? (key.upArrow ? steps.length - 1 : 0) : Math.max(0, Math.min(steps.length - 1, from + (key.upArrow ? -1 : 1)));
    return { follow: false, selected: steps[i], scroll: 0 };
  }
  if (key.pageUp) return { ...view, follow: false, selected: view.selected ?? current, scroll: Math.min(maxScroll, view.scroll + page) };
  if (key.pageDown) return { ...view, scroll: Math.max(0, view.scroll - page) };
  if (input === 'f') return { follow: true, selected: undefined, scroll: 0 };
  return null;
}
