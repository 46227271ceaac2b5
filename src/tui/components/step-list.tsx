import { Box, Text } from 'ink';
import type { StepView } from '../state.js';
import { rowLabel, windowSteps } from '../views.js';
import { STEP_SYMBOL, fitText, formatDuration, formatProgress } from '../format.js';
import { STATUS_COLOR } from './colors.js';

export interface StepListProps {
  title: string;
  steps: StepView[];
  now: number;
  /** The step the log pane shows. */
  selected?: string;
  columns: number;
  /** Rows available for steps; longer lists show a window around the steps that matter. */
  maxRows?: number;
  /** How a for_each step's items stand (`3 succeeded, 1 running`); empty for other rows. */
  describeItems?: (step: StepView) => string;
}

/** The one-line live summary of a step: how its items stand, its error, its transfer progress, or its last output line. */
export function summarizeStep(step: StepView, items = ''): string {
  if (items) return `${step.hosts ? 'hosts' : 'items'}: ${items}`;
  if ((step.status === 'failed' || step.status === 'timed_out') && step.error) return step.error;
  if (step.status === 'running' && step.progress) return formatProgress(step.progress, 10);
  return step.lines[step.lines.length - 1] ?? '';
}

/** The running phase's steps (sub-runbook steps indented by depth): status, title, type, attempt, elapsed, summary. */
export function StepList({ title, steps: all, now, selected, columns, maxRows = Infinity, describeItems = () => '' }: StepListProps) {
  const { shown: steps, above, below } = windowSteps(all, maxRows, selected);
  const idWidth = Math.min(24, Math.max(8, ...steps.map((s) => 2 * s.depth + rowLabel(s).length)));
  const titleWidth = Math.min(30, Math.max(0, ...steps.map((s) => rowTitle(s).length)));
  return (
    <Box flexDirection="column">
      <Text bold>{title}</Text>
      {above > 0 ? <Text dimColor>{`  … ${above} step${above > 1 ? 's' : ''} above`}</Text> : null}
      {steps.map((s) => {
        const indent = '  '.repeat(s.depth);
        const attempt = s.attempt > 0 ? (s.maxAttempts ? `${s.attempt}/${s.maxAttempts}` : `${s.attempt}`) : '';
        const elapsed = s.durationMs !== undefined ? formatDuration(s.durationMs) : s.status === 'running' && s.startedAt !== undefined ? formatDuration(Math.max(0, now - s.startedAt), { whole: true }) : '';
        const titleCol = titleWidth > 0 ? ` ${fitText(rowTitle(s), titleWidth, true)}` : '';
        const head = ` ${fitText(indent + rowLabel(s), idWidth, true)}${titleCol} ${fitText(s.type, 6, true)} ${attempt.padStart(4)} ${elapsed.padStart(7)} `;
        const rest = Math.max(0, columns - head.length - 5);
        const summary = summarizeStep(s, describeItems(s));
        const failed = s.status === 'failed' || s.status === 'timed_out';
        return (
          <Text key={s.id} wrap="truncate" inverse={s.id === selected}>
            {s.id === selected ? '›' : ' '}
            <Text color={STATUS_COLOR[s.status]}>{STEP_SYMBOL[s.status]}</Text>
            {head}
            <Text color="magenta">{s.hasRollback ? '↺' : ' '}</Text>
            {' '}
            <Text color={failed ? 'red' : undefined} dimColor={!failed}>{fitText(summary, rest)}</Text>
          </Text>
        );
      })}
      {below > 0 ? <Text dimColor>{`  … ${below} more step${below > 1 ? 's' : ''} below`}</Text> : null}
    </Box>
  );
}

/** An instance row shows the item (or host) it works on; the others their title. */
function rowTitle(s: StepView): string {
  return (s.key !== undefined ? (s.item ?? s.title) : s.title) ?? '';
}
