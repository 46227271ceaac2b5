/**
 * The timeout that really bounds one attempt of a body: what the interpreter enforces and what
 * `plan` shows (one function, so they cannot disagree).
 * - `runbook:` steps: only a `timeout:` written on the step (its own steps carry their own timeouts).
 * - `approve`: its own `approve.timeout` is the gate's wait; a `timeout:` written on the step also
 *   applies (the shorter wins); the default timeout applies only when neither is written.
 * - everything else: the step's timeout, else `defaults.timeout`, else 5m.
 * Undefined means no timeout.
 */
import type { BodyModel } from '../dsl/model.js';
import { parseDuration } from '../dsl/duration.js';

export function effectiveTimeout(b: BodyModel): number | undefined {
  if (b.type === 'runbook') return b.timeout_explicit ? b.timeout_ms : undefined;
  if (b.type === 'approve') {
    const own = typeof (b.body as { timeout?: unknown })?.timeout === 'string' ? parseDuration((b.body as { timeout: string }).timeout) : undefined;
    if (own !== undefined) return b.timeout_explicit ? Math.min(own, b.timeout_ms) : own;
  }
  return b.timeout_ms;
}

/** Where the effective timeout comes from, for `plan`. */
export function timeoutSource(b: BodyModel): 'step' | 'default' | 'approve' | 'none' {
  if (effectiveTimeout(b) === undefined) return 'none';
  if (b.type === 'approve' && typeof (b.body as { timeout?: unknown })?.timeout === 'string' && effectiveTimeout(b) !== b.timeout_ms) return 'approve';
  if (b.type === 'approve' && typeof (b.body as { timeout?: unknown })?.timeout === 'string' && !b.timeout_explicit) return 'approve';
  return b.timeout_explicit ? 'step' : 'default';
}
