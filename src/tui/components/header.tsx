import { Box, Text } from 'ink';
import type { RunView, TuiState } from '../state.js';
import { fitText, formatBar, formatBudget, formatClock, formatDuration, measurePressure } from '../format.js';
import { PRESSURE_COLOR } from './colors.js';

export interface HeaderProps {
  run?: RunView;
  finished?: TuiState['finished'];
  now: number;
  predictedMs?: number;
  /** Terminal width: the title gives way so the run id always shows. */
  columns?: number;
}

/** Below this many columns for the title, the run id goes on a line of its own. */
const MIN_TITLE = 16;

/** Title, severity, run id, and the RTO countdown: elapsed against the objective, with a bar. */
export function Header({ run, finished, now, predictedMs, columns = 100 }: HeaderProps) {
  if (!run) return <Text dimColor>Waiting for the run to start…</Text>;
  const title = run.title ?? run.runbook;
  const severity = run.severity ? `  ${run.severity}` : '';
  const flags = `${run.dryRun ? '  DRY RUN' : ''}${run.drill ? '  DRILL' : ''}${run.resumed ? '  resumed' : ''}`;
  const id = `  run ${run.id}`;
  // ink cuts a line at the terminal's edge: cut the title ourselves, so what matters stays
  const room = columns - 1 - severity.length - id.length - flags.length;
  const ownLine = room < MIN_TITLE;
  const titleText = fitText(title, ownLine ? columns - 1 - severity.length : room);
  const elapsed = finished ? finished.durationMs : Math.max(0, now - run.startedAt);
  const rto = finished?.rtoMs ?? run.rtoMs;
  const pressure = measurePressure(elapsed, rto);
  const color = PRESSURE_COLOR[pressure];
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold>{titleText}</Text>
        {severity ? <Text color={run.severity === 'P0' ? 'red' : 'yellow'} bold>{severity}</Text> : null}
        {ownLine ? null : <Text dimColor>{id}</Text>}
        {ownLine ? null : <Text color="magenta">{flags}</Text>}
      </Text>
      {ownLine ? (
        <Text wrap="truncate">
          <Text dimColor>{id.trimStart()}</Text>
          <Text color="magenta">{flags}</Text>
        </Text>
      ) : null}
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
