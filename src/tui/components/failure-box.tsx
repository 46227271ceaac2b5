import { Box, Text } from 'ink';
import type { TuiState } from '../state.js';
import { describeStatus } from '../format.js';

/** The failure that stopped the run: step, error, and where the step is in the YAML. */
export function FailureBox({ failure }: { failure?: TuiState['failure'] }) {
  if (!failure) return null;
  return (
    <Box flexDirection="column" borderStyle="single" borderColor="red" paddingX={1}>
      <Text color="red" bold>{`✗ ${failure.step} ${describeStatus(failure.status)}${failure.error ? `: ${failure.error}` : ''}`}</Text>
      {failure.where ? <Text dimColor>{`at ${failure.where}`}</Text> : null}
    </Box>
  );
}
