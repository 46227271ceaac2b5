import { Box, Text } from 'ink';
import type { StepView } from '../state.js';
import { fitText } from '../format.js';

export interface LogPaneProps {
  step?: StepView;
  height: number;
  /** Lines scrolled up from the end. */
  scroll: number;
  follow: boolean;
  columns: number;
}

/** The selected step's output, tail first; PgUp/PgDn scroll through the last lines kept. */
export function LogPane({ step, height, scroll, follow, columns }: LogPaneProps) {
  if (!step) return null;
  const end = Math.max(0, step.lines.length - scroll);
  const lines = step.lines.slice(Math.max(0, end - height), end);
  const mode = follow ? 'follow' : scroll > 0 ? `scrolled ${scroll} up · f follow` : 'selected · f follow';
  const dropped = step.lineCount - step.lines.length;
  const head = `── ${step.id} · output (${mode})${dropped > 0 ? ` · last ${step.lines.length} of ${step.lineCount} lines` : ''} `;
  return (
    <Box flexDirection="column">
      <Text dimColor wrap="truncate">{head + '─'.repeat(Math.max(0, columns - head.length - 1))}</Text>
      {lines.length === 0 ? <Text dimColor>  (no output yet)</Text> : null}
      {lines.map((l, i) => (
        <Text key={i} wrap="truncate">{`  ${fitText(l, Math.max(10, columns - 3))}`}</Text>
      ))}
    </Box>
  );
}
