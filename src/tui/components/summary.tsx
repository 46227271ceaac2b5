import { Box, Text } from 'ink';
import type { TuiState } from '../state.js';
import { RUN_SYMBOL, STEP_SYMBOL, describeStatus, fitText, formatBudget, formatDuration } from '../format.js';
import { STATUS_COLOR } from './colors.js';

export interface SummaryProps {
  state: TuiState;
  reportPath?: string;
}

/** The end: status, duration against the RTO, every phase against its budget with its steps, the report. */
export function Summary({ state, reportPath }: SummaryProps) {
  const f = state.finished;
  if (!f) return null;
  const rto = f.rtoMs ?? state.run?.rtoMs;
  const met = f.rtoMet ?? (rto ? f.durationMs <= rto : null);
  const idWidth = Math.min(16, Math.max(5, ...state.phases.map((p) => p.id.length)));
  return (
    <Box flexDirection="column" borderStyle="double" borderColor={STATUS_COLOR[f.status]} paddingX={1}>
      <Text bold>
        <Text color={STATUS_COLOR[f.status]}>{`${RUN_SYMBOL[f.status]} Run ${describeStatus(f.status)}`}</Text>
        {` in ${formatDuration(f.durationMs)}`}
        {rto ? ` / RTO ${formatBudget(rto)} ` : ''}
        {rto ? <Text color={met ? 'green' : 'red'}>{met ? '✓ met' : '✗ missed'}</Text> : null}
      </Text>
      {f.error ? <Text color="red">{f.error}</Text> : null}
      {state.phases.map((p) => {
        const over = p.budgetMs !== undefined && p.durationMs !== undefined && p.durationMs > p.budgetMs;
        const time = p.durationMs !== undefined ? formatDuration(p.durationMs) : 'not run';
        const budget = p.budgetMs ? ` / ${formatBudget(p.budgetMs)}` : '';
        const steps = p.steps.map((id) => state.steps[id]).filter((s) => s !== undefined);
        return (
          <Text key={p.id} wrap="truncate">
            <Text color={STATUS_COLOR[p.status]}>{p.status === 'pending' ? '–' : p.status === 'running' ? '●' : STEP_SYMBOL[p.status]}</Text>
            {` ${fitText(p.id, idWidth, true)} `}
            <Text color={over ? 'red' : undefined}>{fitText(`${time}${budget}${over ? ' over' : p.budgetMs && p.durationMs !== undefined ? ' ✓' : ''}`, 20, true)}</Text>
            {steps.map((s) => (
              <Text key={s.id}>
                {' '}
                <Text color={STATUS_COLOR[s.status]}>{STEP_SYMBOL[s.status]}</Text>
                {` ${s.id}`}
              </Text>
            ))}
          </Text>
        );
      })}
      {reportPath ? <Text>{`Report: ${reportPath}`}</Text> : null}
    </Box>
  );
}
