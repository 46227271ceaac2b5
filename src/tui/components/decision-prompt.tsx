import { terminalText } from '../../util/terminal-text.js';
import { Box, Text } from 'ink';
import type { PendingPrompt } from '../store.js';
import { startRollbackPick, type RollbackPick } from '../keys.js';
import { formatDuration, wrapLines } from '../format.js';

export interface DecisionPromptProps {
  prompt: PendingPrompt;
  pick?: RollbackPick;
  queued: number;
  now: number;
  title?: string;
  /** Terminal width: the body is wrapped to it, never cut. */
  columns?: number;
  /** Rows the body may take; a longer body scrolls with PgUp/PgDn. */
  bodyRows?: number;
  /** Body rows scrolled down from the top. */
  scroll?: number;
}

/** What each answer to a failure does: "skip" and "ignore" differ in what the step is recorded as. */
export const FAILURE_KEYS: [string, string, string][] = [
  ['r', 'retry', 'run the step again now'],
  ['s', 'skip', 'record the step as skipped and go on (steps that test it see skipped)'],
  ['i', 'ignore', 'keep it failed and go on, as on_failure: continue would'],
  ['a', 'abort', 'fail the run and roll back (per the rollback policy)'],
];

/** The box's border and padding, and the body's indent. */
const CHROME = 6;

/** The question the interpreter is waiting on, and the keys that answer it. */
export function DecisionPrompt({ prompt, pick, queued, now, title, columns = 100, bodyRows = 12, scroll = 0 }: DecisionPromptProps) {
  const r = prompt.request;
  const more = queued > 0 ? <Text dimColor>{`(${queued} more question${queued > 1 ? 's' : ''} waiting)`}</Text> : null;
  let body;
  switch (r.kind) {
    case 'step': {
      body = (
        <>
          <Text bold color="cyan">{`Next step: ${r.step}${r.title ?? title ? ` — ${r.title ?? title}` : ''}`}</Text>
          <Body text={r.body ?? r.rendered} columns={columns} rows={bodyRows} scroll={scroll} />
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
          {r.body ? <Body text={r.body} columns={columns} rows={bodyRows} scroll={scroll} /> : null}
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
          {FAILURE_KEYS.map(([k, what, meaning]) => (
            <Text key={k} wrap="wrap">
              <Text bold color="cyan">{`[${k}]`}</Text>
              {` ${what.padEnd(8)}`}
              <Text dimColor>{meaning}</Text>
            </Text>
          ))}
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

/** How many rows a prompt's body takes once wrapped (for scrolling and the frame's height). */
export function promptBodyRows(prompt: PendingPrompt | undefined, columns: number): number {
  const r = prompt?.request;
  const text = r?.kind === 'step' ? (r.body ?? r.rendered) : r?.kind === 'confirm' ? r.body : undefined;
  return text === undefined ? 0 : wrapLines(text, columns - CHROME).length;
}

/** The whole body, wrapped to the box; taller than `rows`, a window of it with what is above and below. */
function Body({ text, columns, rows, scroll }: { text: string; columns: number; rows: number; scroll: number }) {
  const lines = wrapLines(text, columns - CHROME);
  const fits = lines.length <= rows;
  const window = Math.max(1, fits ? rows : rows - 1);
  const top = fits ? 0 : Math.max(0, Math.min(scroll, lines.length - window));
  const shown = lines.slice(top, top + window);
  const below = lines.length - top - shown.length;
  return (
    <>
      {shown.map((l, i) => (
        <Text key={i}>{`  ${l}`}</Text>
      ))}
      {fits ? null : <Text dimColor>{`  lines ${top + 1}–${top + shown.length} of ${lines.length}${below > 0 ? ' · PgDn more' : ''}${top > 0 ? ' · PgUp back' : ''}`}</Text>}
    </>
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
