import { Box, Text } from 'ink';
import type { TuiState } from '../state.js';
import { formatClock } from '../format.js';

/** The latest warnings and operator decisions (who decided what). */
export function Notices({ state, count }: { state: TuiState; count: number }) {
  const items = [
    ...state.warnings.map((w) => ({ at: w.at, color: 'yellow', text: `⚠ ${w.code}: ${w.text}` })),
    ...state.approvals.map((a) => ({ at: a.at, color: 'cyan', text: `? ${a.step}: ${a.decision} by ${a.by}${a.text ? ` — ${a.text}` : ''}` })),
  ]
    .sort((a, b) => a.at - b.at)
    .slice(-count);
  if (items.length === 0) return null;
  return (
    <Box flexDirection="column">
      {items.map((n, i) => (
        <Text key={i} wrap="truncate">
          <Text dimColor>{formatClock(new Date(n.at)).slice(0, 8)}</Text>
          <Text color={n.color}>{` ${n.text}`}</Text>
        </Text>
      ))}
    </Box>
  );
}
