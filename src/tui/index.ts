/**
 * The live terminal UI. Loaded only through `await import('./tui/index.js')` when stdout is a TTY:
 * ink and react cost ~0.6 s to import, which `--no-tui`, `--json`, `validate` and `plan` never pay.
 */
// First: Ink must load in live mode even when CI is set (see ink-live.ts).
import { terminalEvent } from '../util/terminal-text.js';
import { restoreCiEnv } from './ink-live.js';
import { createElement } from 'react';
import { render } from 'ink';
import type { RunEvent } from '../interpreter/events.js';
import { autoDecider, type Decider } from '../interpreter/decisions.js';
import { RunStore } from './store.js';
import { createTuiDecider } from './decider.js';
import { App } from './components/app.js';

restoreCiEnv();

export interface TuiOptions {
  stepMode: boolean;
  yes: boolean;
  user: string;
  predicted?: { run_ms?: number; phases?: Record<string, number> };
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
}

export interface TuiHandle {
  /** Every event of the run; cheap (queued, drawn at most 20 times a second); never blocks. */
  push(event: RunEvent): void;
  /** Asks the operator with key presses. */
  decider: Decider;
  /** Ctrl-C (raw mode swallows SIGINT): 1st → abort and roll back, 2nd → abort without rollback. */
  onInterrupt(cb: (count: number) => void): void;
  /** Shows the final summary, lets the last frame out, unmounts. */
  finish(opts: { reportPath?: string }): Promise<void>;
}

export async function startTui(opts: TuiOptions): Promise<TuiHandle> {
  const store = new RunStore();
  const interruptListeners: ((count: number) => void)[] = [];
  const onInterrupt = (count: number) => {
    for (const cb of interruptListeners) cb(count);
  };
  const instance = render(createElement(App, { store, onInterrupt, stepMode: opts.stepMode, predicted: opts.predicted }), {
    stdout: opts.stdout ?? process.stdout,
    stdin: opts.stdin ?? process.stdin,
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: 20,
  });
  let finished = false;
  // stdout is a terminal but stdin is not (piped, /dev/null): nobody can press a key, so answer as a
  // non-interactive run would (`--yes` approves) instead of waiting forever
  const stdin = opts.stdin ?? process.stdin;
  const decider = stdin.isTTY ? createTuiDecider(store, opts.user) : autoDecider({ yes: opts.yes, user: opts.user });
  return {
    push: (event) => store.push(terminalEvent(event)),
    decider,
    onInterrupt: (cb) => void interruptListeners.push(cb),
    async finish({ reportPath }) {
      if (finished) return;
      finished = true;
      store.finish(reportPath);
      // let React commit the summary frame before ink writes its last frame and lets go of the terminal
      await new Promise((resolve) => setTimeout(resolve, 30));
      instance.unmount();
      await instance.waitUntilExit();
    },
  };
}
