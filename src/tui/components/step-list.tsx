import { Box, Text } from 'ink';
import type { StepView } from '../state.js';
import { STEP_SYMBOL, fitText, formatDuration, formatProgress } from '../format.js';
import { STATUS_COLOR } from './colors.js';

export interface StepListProps {
  title: string;
  steps: StepView[];
  now: number;
  /** The step the log pane shows. */
  selected?: string;
  columns: number;
}

/** The one-line live summary of a step: its error, its transfer progress, or its last output line. */
export function summarizeStep(step: StepView): string {
  if ((step.status === 'failed' || step.status === 'timed_out') && step.error) return step.error;
  if (step.status === 'running' && step.progress) return formatProgress(step.progress, 10);
  return step.lines[step.lines.length - 1] ?? '';
}

/** The running phase's steps (sub-runbook steps indented by depth): status, title, type, attempt, elapsed, summary. */
export function StepList({ title, steps, now, selected, columns }: StepListProps) {
  const labelWidth = Math.min(36, Math.max(12, ...steps.map((s) => 2 * s.depth + label(s).length)));
  return (
    <Box flexDirection="column">
      <Text bold>{title}</Text>
      {steps.map((s) => {
        const indent = '  '.repeat(s.depth);
        const attempt = s.attempt > 0 ? (s.maxAttempts ? `${s.attempt}/${s.maxAttempts}` : `${s.attempt}`) : '';
        const elapsed = s.durationMs !== undefined ? formatDuration(s.durationMs) : s.status === 'running' && s.startedAt !== undefined ? formatDuration(Math.max(0, now - s.startedAt), { whole: true }) : '';
        const head = ` ${fitText(indent + label(s), labelWidth, true)} ${fitText(s.type, 7, true)} ${attempt.padStart(5)} ${elapsed.padStart(7)} `;
        const rest = Math.max(0, columns - head.length - 6);
        const summary = summarizeStep(s);
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
    </Box>
  );
}

function label(s: StepView): string {
  const id = s.id.slice(s.id.lastIndexOf('.') + 1);
  const item = s.index !== undefined && s.status === 'running' ? `[${s.index}]` : '';
  return s.title ? `${id}${item} ${s.title}` : `${id}${item}`;
}
