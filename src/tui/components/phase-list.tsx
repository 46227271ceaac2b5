import { Box, Text } from 'ink';
import type { PhaseView } from '../state.js';
import { STEP_SYMBOL, fitText, formatBudget, formatDuration, measurePressure } from '../format.js';
import { PRESSURE_COLOR, STATUS_COLOR } from './colors.js';

export interface PhaseListProps {
  phases: PhaseView[];
  now: number;
  predicted?: Record<string, number>;
}

const SYMBOL: Record<PhaseView['status'], string> = { ...STEP_SYMBOL, pending: '○', running: '●' };

/** Every phase with its own timer against its budget and its status. */
export function PhaseList({ phases, now, predicted }: PhaseListProps) {
  const idWidth = Math.min(16, Math.max(...phases.map((p) => p.id.length), 5));
  const titleWidth = Math.min(30, Math.max(0, ...phases.map((p) => (p.title ?? '').length)));
  return (
    <Box flexDirection="column">
      {phases.map((p) => {
        const running = p.status === 'running';
        const elapsed = p.durationMs ?? (p.startedAt !== undefined ? Math.max(0, now - p.startedAt) : undefined);
        const pressure = elapsed === undefined ? 'ok' : measurePressure(elapsed, p.budgetMs);
        const timer = elapsed === undefined ? '–' : formatDuration(elapsed, { whole: running });
        const budget = p.budgetMs ? ` / ${formatBudget(p.budgetMs)}` : '';
        const est = predicted?.[p.id] !== undefined && p.status === 'pending' ? `  est ${formatDuration(predicted[p.id], { whole: true })}` : '';
        return (
          <Text key={p.id} wrap="truncate">
            {'  '}
            <Text color={STATUS_COLOR[p.status]}>{SYMBOL[p.status]}</Text>
            {` ${fitText(p.id, idWidth, true)}  ${titleWidth > 0 ? `${fitText(p.title ?? '', Math.max(titleWidth, 30), true)}  ` : ''}`}
            <Text color={PRESSURE_COLOR[pressure]} bold={pressure === 'over'}>{`${timer}${budget}`}</Text>
            {pressure === 'over' && elapsed !== undefined && p.budgetMs ? <Text color="red" bold>{` over by ${formatDuration(elapsed - p.budgetMs, { whole: running })}`}</Text> : null}
            {pressure !== 'over' && p.withinBudget === true ? <Text color="green">{' ✓'}</Text> : null}
            <Text dimColor>{est}</Text>
          </Text>
        );
      })}
    </Box>
  );
}
