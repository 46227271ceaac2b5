/**
 * Repeated poll failures (`until` journals `poll N: <error>` per failed poll) collapse in the plain
 * lines: the first of a run of identical errors is printed, the rest become one line
 * `polls 3–32: same error`. On a terminal that line is rewritten in place as polls come; when piped
 * it is printed once, when the run of identical errors ends. The journal keeps every attempt.
 */
const POLL = /^poll (\d+): (.*)$/s;

interface Streak {
  message: string;
  first: number;
  last: number;
  ts: string;
}

export interface PollLine {
  step: string;
  /** `poll 4: same error`, `polls 3–32: same error`. */
  text: string;
  ts: string;
}

export class PollStreaks {
  private streaks = new Map<string, Streak>();

  /**
   * An info line of `step`: `repeat` when it repeats the previous poll's error (the caller shows the
   * collapsed line), else `new` (print it; a run of identical errors may have ended).
   */
  see(step: string, text: string, ts: string): { repeat?: PollLine; ended?: PollLine } {
    const m = POLL.exec(text);
    const prev = this.streaks.get(step);
    if (m && prev && m[2] === prev.message && Number(m[1]) === prev.last + 1) {
      prev.last++;
      prev.ts = ts;
      return { repeat: lineOf(step, prev) };
    }
    const ended = this.end(step);
    if (m) this.streaks.set(step, { message: m[2], first: Number(m[1]), last: Number(m[1]), ts });
    return { ended };
  }

  /** The step printed something else or finished: its collapsed line, if identical polls were held back. */
  end(step: string): PollLine | undefined {
    const s = this.streaks.get(step);
    this.streaks.delete(step);
    return s && s.last > s.first ? lineOf(step, s) : undefined;
  }

  /** Every step's pending line (the run ended). */
  endAll(): PollLine[] {
    return [...this.streaks.keys()].map((k) => this.end(k)).filter((l): l is PollLine => l !== undefined);
  }
}

function lineOf(step: string, s: Streak): PollLine {
  const from = s.first + 1;
  return { step, text: from === s.last ? `poll ${s.last}: same error` : `polls ${from}–${s.last}: same error`, ts: s.ts };
}
