import { terminalText } from '../../util/terminal-text.js';
import { Box, Text } from 'ink';
import type { PendingPrompt } from '../store.js';
import { startRollbackPick, type RollbackPick } from '../keys.js';
import { formatDuration } from '../format.js';

export interface DecisionPromptProps {
  prompt: PendingPrompt;
  pick?: RollbackPick;
  queued: number;
  now: number;
  title?: string;
}

const MAX_RENDERED_LINES = 12;

/** The question the interpreter is waiting on, and the keys that answer it. */
export function DecisionPrompt({ prompt, pick, queued, now, title }: DecisionPromptProps) {
  const r = prompt.request;
  const more = queued > 0 ? <Text dimColor>{`(${queued} more question${queued > 1 ? 's' : ''} waiting)`}</Text> : null;
  let body;
  switch (r.kind) {
    case 'step': {
      const lines = r.rendered.split('\n');
      body = (
        <>
          <Text bold color="cyan">{`Next step: ${r.step}${r.title ?? title ? ` — ${r.title ?? title}` : ''}`}</Text>
          {lines.slice(0, MAX_RENDERED_LINES).map((l, i) => (
            <Text key={i} wrap="truncate">{`  ${l}`}</Text>
          ))}
          {lines.length > MAX_RENDERED_LINES ? <Text dimColor>{`  … ${lines.length - MAX_RENDERED_LINES} more lines`}</Text> : null}
          <Keys keys={[['enter', 'run'], ['s', 'skip'], ['a', 'abort'], ['c', 'continue without stepping']]} />
        </>
      );
      break;
    }
    case 'confirm': {
      const left = r.timeout_ms !== undefined ? Math.max(0, prompt.askedAt + r.timeout_ms - now) : undefined;
      body = (
        <>
          <Text bold color="yellow">{`Confirm ${r.step}`}</Text>
          <Text>{r.message}</Text>
          {left !== undefined ? <Text dimColor>{`times out in ${formatDuration(left, { whole: true })}`}</Text> : null}
          <Keys keys={[['y', 'yes'], ['n', 'no']]} />
        </>
      );
      break;
    }
    case 'failure':
      body = (
        <>
          <Text bold color="red">{`✗ ${r.step} failed`}</Text>
          <Text color="red">{terminalText(r.error)}</Text>
          {r.where ? <Text dimColor>{`at ${r.where}`}</Text> : null}
          <Keys keys={[['r', 'retry'], ['s', 'skip and continue'], ['i', 'ignore'], ['a', 'abort and roll back']]} />
        </>
      );
      break;
    case 'rollback': {
      const p = pick ?? startRollbackPick(r.steps);
      body = (
        <>
          <Text bold color="yellow">Roll back which steps? (in this order)</Text>
          {r.steps.map((s, i) => (
            <Text key={s}>{`${p.cursor === i ? '›' : ' '} [${p.picked[i] ? 'x' : ' '}] ${s}`}</Text>
          ))}
          <Keys keys={[['space', 'toggle'], ['a', 'all'], ['n', 'none'], ['enter', 'confirm']]} />
        </>
      );
      break;
    }
    case 'inflight':
      body = (
        <>
          <Text bold color="yellow">{`${r.step} was running when the previous process died and is not idempotent`}</Text>
          {r.running?.length ? <Text>{`still running, resume kills them: ${terminalText(r.running.join('; '))}`}</Text> : null}
          <Keys keys={[['r', 'run it again'], ['s', 'skip it']]} />
        </>
      );
      break;
  }
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={r.kind === 'failure' ? 'red' : 'yellow'} paddingX={1}>
      {body}
      {more}
    </Box>
  );
}

function Keys({ keys }: { keys: [string, string][] }) {
  return (
    <Text>
      {keys.map(([k, what], i) => (
        <Text key={k}>
          {i > 0 ? '  ' : ''}
          <Text bold color="cyan">{`[${k}]`}</Text>
          {` ${what}`}
        </Text>
      ))}
    </Text>
  );
}
