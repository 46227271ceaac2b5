/** `runbook report`: one entry point from a run's events to each format of spec §7. */
import { RunbookError } from '../dsl/errors.js';
import type { RunEvent } from '../interpreter/events.js';
import { renderJson } from './json.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import { renderPrometheus } from './prometheus.js';
import { summarizeRun } from './summarize.js';
import { comparePlan, planSection, type SavedPlan } from './plan-accuracy.js';

export type ReportFormat = 'md' | 'json' | 'junit' | 'prometheus';
export const REPORT_FORMATS: readonly ReportFormat[] = ['md', 'json', 'junit', 'prometheus'];

/** Render a run's journal events. Pure and deterministic; `now` is used only by `md` (footer, elapsed time of an incomplete run). */
export function renderReport(events: RunEvent[], format: ReportFormat, opts: { now?: Date; plan?: SavedPlan } = {}): string {
  const report = summarizeRun(events);
  switch (format) {
    case 'md':
      return renderMarkdown(report, { now: opts.now, planSection: opts.plan && planSection(comparePlan(opts.plan, events)) });
    case 'json':
      return renderJson(report);
    case 'junit':
      return renderJunit(report);
    case 'prometheus':
      return renderPrometheus(report);
    default:
      // The CLI passes user input through: say what is accepted rather than print nothing.
      throw new RunbookError({ code: 'USAGE', message: `unknown report format '${String(format)}' (expected ${REPORT_FORMATS.join(', ')})` });
  }
}

export { summarizeRun } from './summarize.js';
export { listRuns, readRunEvents, resolveRunId, type RunSummary } from './read.js';
export { phaseDurations, runDurations, stepDurations, type DurationStats } from './history.js';
export type * from './types.js';
