import { useState } from 'react';
import { Box, Text, useStdout } from 'ink';
import type { RunStore } from '../store.js';
import type { RollbackPick, View } from '../keys.js';
import type { StepView, TuiState } from '../state.js';
import { describeItems, listPhaseSteps, listRollbacks, pickShownPhase } from '../views.js';
import { useThrottledState, FRAME_MS } from '../use-throttled-state.js';
import { useClock } from '../use-clock.js';
import { useOperatorKeys } from '../use-operator-keys.js';
import { Header } from './header.js';
import { PhaseList } from './phase-list.js';
import { StepList } from './step-list.js';
import { LogPane } from './log-pane.js';
import { DecisionPrompt, promptBodyRows } from './decision-prompt.js';
import { RollbackList } from './rollback-list.js';
import { FailureBox } from './failure-box.js';
import { Notices } from './notices.js';
import { Summary } from './summary.js';

export interface AppProps {
  store: RunStore;
  onInterrupt: (count: number) => void;
  stepMode?: boolean;
  predicted?: { run_ms?: number; phases?: Record<string, number> };
  frameMs?: number;
}

const CLOCK_MS = 250;

/** The whole screen. Displays the store's snapshot; keys go back through the store (answers, interrupts). */
export function App({ store, onInterrupt, stepMode, predicted, frameMs = FRAME_MS }: AppProps) {
  const snap = useThrottledState(store, frameMs);
  const { state, prompt } = snap;
  const over = state.finished !== undefined || snap.done;
  const now = useClock(CLOCK_MS, !over);
  const { stdout } = useStdout();
  const columns = stdout.columns || 100;
  const rows = stdout.rows || 40;
  const [view, setView] = useState<View>({ follow: true, scroll: 0 });
  const [pick, setPick] = useState<{ id: number; pick: RollbackPick }>();
  const [promptScroll, setPromptScroll] = useState<{ id: number; scroll: number }>();

  const phaseId = pickShownPhase(state);
  const phase = state.phases.find((p) => p.id === phaseId);
  const steps = listPhaseSteps(state, phaseId);
  const rollbacks = listRollbacks(state);
  const rollingBack = state.rollback.active || rollbacks.some((s) => s.rollback);
  const current = view.follow ? followTarget(state, steps) : (view.selected ?? followTarget(state, steps));
  const shown = current ? state.steps[current] : undefined;

  // rows for the parts that grow, so the frame fits the terminal: steps first, the log gets the rest
  // a prompt's body is shown whole when it fits, else as a window that PgUp/PgDn scroll
  const bodyLines = promptBodyRows(prompt, columns);
  const bodyRows = Math.max(4, Math.min(bodyLines, rows - 16));
  const fixed = 2 + 1 + state.phases.length + 1 + 1 + (state.failure ? 4 : 0) + (rollingBack ? rollbacks.length + 1 : 0) + (prompt ? 8 + bodyRows : 0) + 3 + 2 + 1;
  const stepRows = Math.max(5, rows - fixed - 4);
  const logHeight = Math.max(3, Math.min(15, rows - fixed - Math.min(steps.length, stepRows)));
  useOperatorKeys({
    store,
    snap,
    pick,
    setPick,
    view,
    setView,
    steps: steps.map((s) => s.id),
    current,
    page: logHeight,
    maxScroll: Math.max(0, (shown?.lines.length ?? 0) - logHeight),
    onInterrupt,
    promptScroll: prompt && bodyLines > bodyRows ? { value: promptScroll?.id === prompt.id ? promptScroll.scroll : 0, max: bodyLines - bodyRows + 1, page: bodyRows - 1, set: (v) => setPromptScroll({ id: prompt.id, scroll: v }) } : undefined,
  });

  return (
    <Box flexDirection="column">
      <Header run={state.run} finished={state.finished} now={now} predictedMs={predicted?.run_ms} columns={columns} />
      <Box marginTop={1}>
        <PhaseList phases={state.phases} now={now} predicted={predicted?.phases} />
      </Box>
      {!over && phase ? (
        <Box marginTop={1}>
          <StepList title={`Steps · ${phase.id}${phase.title ? ` — ${phase.title}` : ''}`} steps={steps} now={now} selected={view.follow ? undefined : current} columns={columns} maxRows={stepRows} describeItems={(s) => describeItems(state, s)} />
        </Box>
      ) : null}
      <FailureBox failure={state.failure} />
      {rollingBack ? <RollbackList steps={rollbacks} now={now} over={over} /> : null}
      {prompt ? <DecisionPrompt prompt={prompt} pick={pick?.id === prompt.id ? pick.pick : undefined} queued={snap.queuedPrompts} now={now} title={state.steps[stepOf(prompt.request)]?.title} columns={columns} bodyRows={bodyRows} scroll={promptScroll?.id === prompt.id ? promptScroll.scroll : 0} /> : null}
      {!over ? <LogPane step={shown} height={logHeight} scroll={view.scroll} follow={view.follow} columns={columns} /> : null}
      <Notices state={state} count={3} />
      {snap.interrupts > 0 && !over ? (
        <Text color="red" bold>
          {snap.interrupts === 1 ? 'Ctrl-C: aborting and rolling back — press Ctrl-C again to abort without rollback' : 'Ctrl-C ×2: aborting without rollback'}
        </Text>
      ) : null}
      {over ? (
        <Summary state={state} reportPath={snap.reportPath} />
      ) : (
        <Text dimColor wrap="truncate">{`${stepMode ? '--step · ' : ''}↑/↓ select step · PgUp/PgDn scroll · f follow · Ctrl-C abort`}</Text>
      )}
    </Box>
  );
}

/** The log follows the step that last started or printed, if it is on screen; else the last running one. */
function followTarget(state: TuiState, steps: StepView[]): string | undefined {
  if (state.active && (state.rollback.active || steps.some((s) => s.id === state.active))) return state.active;
  const running = steps.filter((s) => s.status === 'running');
  return running[running.length - 1]?.id ?? state.active;
}

function stepOf(r: { kind: string; step?: string }): string {
  return r.step ?? '';
}
