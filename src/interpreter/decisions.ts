/**
 * The one channel through which the interpreter asks an operator something. The TUI implements it
 * with key presses; non-interactive runs use `autoDecider` (the spec's defaults, `--yes`).
 * Every answer is journaled by the interpreter as an `approval` event.
 */
export type DecisionRequest =
  | {
      kind: 'step';
      /** `--step`: before each step. */
      step: string;
      title?: string;
      /** The body rendered as `plan` shows it, guards resolved. */
      rendered: string;
      /** The whole body, resolved, secrets masked (YAML), for the prompt to show in full. */
      body?: string;
    }
  | {
      kind: 'confirm';
      /** A `confirm: true` step or an `approve` step. */
      step: string;
      message: string;
      timeout_ms?: number;
      /** A `confirm: true` step: its whole body, resolved, secrets masked (YAML) — what is being approved. */
      body?: string;
    }
  | {
      kind: 'failure';
      /** A step's last attempt failed; before the run fails. */
      step: string;
      error: string;
      where?: string;
    }
  | {
      kind: 'rollback';
      /** `rollback: prompt`: which of these rollbacks to run (in this order). */
      steps: string[];
    }
  | {
      kind: 'inflight';
      /** `resume`: a non-idempotent step was running when the process died. */
      step: string;
      /** Its processes still running from the dead process (`pid command`), which resume kills whatever the answer. */
      running?: string[];
    };

export type DecisionAnswer =
  | { kind: 'step'; action: 'run' | 'skip' | 'abort' | 'continue' }
  | { kind: 'confirm'; approved: boolean }
  | { kind: 'failure'; action: 'retry' | 'skip' | 'ignore' | 'abort' }
  | { kind: 'rollback'; steps: string[] }
  | { kind: 'inflight'; action: 'rerun' | 'skip' };

export interface Decider {
  /** Whether a human is there to answer (`run.interactive`). */
  interactive: boolean;
  /** Operator name recorded in `approval` events. */
  user: string;
  decide(request: DecisionRequest, signal: AbortSignal): Promise<DecisionAnswer>;
}

/** Non-interactive answers: `--yes` approves, otherwise confirmations are refused; failures abort. */
export function autoDecider(opts: { yes: boolean; user: string; inflight?: 'rerun' | 'skip' }): Decider {
  return {
    interactive: false,
    user: opts.user,
    async decide(req) {
      switch (req.kind) {
        case 'step':
          return { kind: 'step', action: 'run' };
        case 'confirm':
          return { kind: 'confirm', approved: opts.yes };
        case 'failure':
          return { kind: 'failure', action: 'abort' };
        case 'rollback':
          return { kind: 'rollback', steps: req.steps };
        case 'inflight':
          if (!opts.inflight) throw new Error(`step '${req.step}' was running when the process died and is not idempotent: pass --rerun-inflight or --skip-inflight`);
          return { kind: 'inflight', action: opts.inflight };
      }
    },
  };
}
