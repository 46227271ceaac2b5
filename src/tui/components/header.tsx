import { Box, Text } from 'ink';
import type { RunView, TuiState } from '../state.js';
import { formatBar, formatBudget, formatClock, formatDuration, measurePressure } from '../format.js';
import { PRESSURE_COLOR } from './colors.js';

export interface HeaderProps {
  run?: RunView;
  finished?: TuiState['finished'];
  now: number;
  predictedMs?: number;
}

/** Title, severity, run id, and the RTO countdown: elapsed against the objective, with a bar. */
export function Header({ run, finished, now, predictedMs }: HeaderProps) {
  if (!run) return <Text dimColor>Waiting for the run to start…</Text>;
  const elapsed = finished ? finished.durationMs : Math.max(0, now - run.startedAt);
  const rto = finished?.rtoMs ?? run.rtoMs;
  const pressure = measurePressure(elapsed, rto);
  const color = PRESSURE_COLOR[pressure];
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold>{run.title ?? run.runbook}</Text>
        {run.severity ? <Text color={run.severity === 'P0' ? 'red' : 'yellow'} bold>{`  ${run.severity}`}</Text> : null}
        <Text dimColor>{`  run ${run.id}`}</Text>
        {run.dryRun ? <Text color="magenta">{'  DRY RUN'}</Text> : null}
        {run.resumed ? <Text color="magenta">{'  resumed'}</Text> : null}
      </Text>
      {rto ? (
        <Text wrap="truncate">
          {'RTO '}
          <Text color={color} bold={pressure !== 'ok'}>{`${formatDuration(elapsed, { whole: !finished })} / ${formatBudget(rto)}`}</Text>
          {'  '}
          <Text color={color ?? 'green'}>{formatBar(elapsed / rto, 20)}</Text>
          <Text color={color}>{` ${Math.round((elapsed / rto) * 100)}%`}</Text>
          {pressure === 'over' ? (
            <Text color="red" bold>{`  EXCEEDED by ${formatDuration(elapsed - rto, { whole: !finished })}`}</Text>
          ) : finished ? null : (
            <Text dimColor>{`  ${formatDuration(Math.ceil((rto - elapsed) / 1000) * 1000, { whole: true })} left`}</Text>
          )}
          {predictedMs !== undefined && !finished ? (
            <Text dimColor>{`  · predicted ${formatDuration(predictedMs, { whole: true })} (ends ~${formatClock(new Date(run.startedAt + predictedMs)).slice(0, 8)})`}</Text>
          ) : null}
        </Text>
      ) : (
        <Text wrap="truncate">
          {`Elapsed ${formatDuration(elapsed, { whole: !finished })}`}
          <Text dimColor>{'  (no RTO objective)'}</Text>
          {predictedMs !== undefined && !finished ? <Text dimColor>{`  · predicted ${formatDuration(predictedMs, { whole: true })}`}</Text> : null}
        </Text>
      )}
    </Box>
  );
}
