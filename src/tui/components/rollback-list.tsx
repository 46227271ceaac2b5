import { Box, Text } from 'ink';
import type { StepView } from '../state.js';
import { STEP_SYMBOL, describeStatus, fitText, formatDuration } from '../format.js';
import { STATUS_COLOR } from './colors.js';

export interface RollbackListProps {
  steps: StepView[];
  now: number;
  /** The run is over: rollbacks that never started did not run. */
  over: boolean;
}

/** Rollbacks in the order they run (reverse order of start), each with its status. */
export function RollbackList({ steps, now, over }: RollbackListProps) {
  if (steps.length === 0) return null;
  const width = Math.min(30, Math.max(...steps.map((s) => s.id.length)));
  return (
    <Box flexDirection="column">
      <Text bold color="yellow">{over ? '↺ Rollbacks' : '↺ Rolling back'}</Text>
      {steps.map((s) => {
        const rb = s.rollback;
        const status = rb?.status ?? 'pending';
        const took = rb?.durationMs !== undefined ? formatDuration(rb.durationMs) : rb ? formatDuration(Math.max(0, now - rb.startedAt), { whole: true }) : '';
        const what = !rb && over ? 'not run' : describeStatus(status);
        return (
          <Text key={s.id} wrap="truncate">
            {'  '}
            <Text color={STATUS_COLOR[status]}>{!rb && over ? '–' : STEP_SYMBOL[status]}</Text>
            {` ${fitText(s.id, width, true)}  `}
            <Text color={STATUS_COLOR[status]}>{what}</Text>
            {took ? ` ${took}` : ''}
            {rb?.error ? <Text color="red">{`  ${rb.error}`}</Text> : null}
          </Text>
        );
      })}
    </Box>
  );
}
