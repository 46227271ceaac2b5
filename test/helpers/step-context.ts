// A StepContext as the interpreter gives one to a step: one signal, connections opened on first use
// and cached, output and progress collected for the test to read.
import { expect } from 'vitest';
import { StepFailure, type StepContext } from '../../src/steps/types.js';

export interface OutputChunk {
  stream: 'stdout' | 'stderr' | 'info';
  text: string;
  /** performance.now() when it arrived (for tests of live streaming). */
  at: number;
}

export type Progress = Parameters<StepContext['progress']>[0];

export interface StepHarness {
  ctx: StepContext;
  /** Aborts ctx.signal (unless a signal was given). */
  controller: AbortController;
  output: OutputChunk[];
  progress: Progress[];
  /** All output of one stream, joined. */
  text(stream: OutputChunk['stream']): string;
}

export interface StepHarnessOptions {
  /** The kind of connection the step must ask for, and how to open one by name. */
  connections?: {
    kind: string;
    open(name: string): unknown;
    /** Share opened connections across harnesses, as a run shares them across its steps. */
    cache?: Map<string, Promise<unknown>>;
  };
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  baseDir?: string;
  runId?: string;
  stepId?: string;
}

export function stepHarness(opts: StepHarnessOptions = {}): StepHarness {
  const controller = new AbortController();
  const output: OutputChunk[] = [];
  const progress: Progress[] = [];
  const cache = opts.connections?.cache ?? new Map<string, Promise<unknown>>();
  const ctx: StepContext = {
    signal: opts.signal ?? controller.signal,
    runId: opts.runId ?? 'test-run',
    stepId: opts.stepId ?? 'step',
    baseDir: opts.baseDir ?? process.cwd(),
    env: opts.env ?? process.env,
    output: (stream, text) => output.push({ stream, text, at: performance.now() }),
    progress: (p) => progress.push(p),
    connection: <T>(name: string, kind: string) => {
      const c = opts.connections;
      if (!c || kind !== c.kind) return Promise.reject(new Error(`unexpected connection: ${kind} '${name}'`));
      if (!cache.has(name)) cache.set(name, Promise.resolve().then(() => c.open(name)));
      return cache.get(name) as Promise<T>;
    },
  };
  return { ctx, controller, output, progress, text: (s) => output.filter((c) => c.stream === s).map((c) => c.text).join('') };
}

/** The failure of a step, asserted to be a StepFailure. */
export async function failureOf(p: Promise<unknown>): Promise<StepFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StepFailure);
  return err as StepFailure;
}
