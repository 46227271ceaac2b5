/** Abortable sleep: resolves after `ms`, rejects with the signal's reason when it fires first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Why a step's signal fired: its own timeout, or the run being cancelled. */
export class StepTimeout extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${formatMs(ms)}`);
    // Same name as AbortSignal.timeout()'s reason, which step types test for.
    this.name = 'TimeoutError';
  }
}

export class RunCancelled extends Error {
  constructor(readonly reason: string) {
    super(`cancelled: ${reason}`);
    this.name = 'RunCancelled';
  }
}

/**
 * A signal that fires on the parent's abort or after `timeoutMs` (reason StepTimeout). `dispose()`
 * clears the timer and detaches from the parent so long runs do not pile up listeners.
 */
export function childSignal(parent: AbortSignal, timeoutMs?: number): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const onAbort = () => ac.abort(parent.reason);
  if (parent.aborted) ac.abort(parent.reason);
  else parent.addEventListener('abort', onAbort, { once: true });
  const timer = timeoutMs !== undefined && Number.isFinite(timeoutMs) ? setTimeout(() => ac.abort(new StepTimeout(timeoutMs)), timeoutMs) : undefined;
  return {
    signal: ac.signal,
    dispose() {
      if (timer) clearTimeout(timer);
      parent.removeEventListener('abort', onAbort);
    },
  };
}

/** A duration as people write it: 250ms, 1.5s, 2m30s. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}
