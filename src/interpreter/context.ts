/**
 * The state of one run, shared by the scheduler, the step executor, rollback and finally:
 * the one run-level AbortSignal, the failure that stops the run, the order in which steps started,
 * and the scope expressions see. A sub-runbook is a `Level` of the same run.
 */
import { hostname } from 'node:os';
import { UNKNOWN, type Scope } from '../dsl/expr/index.js';
import type { LoadedRunbook } from '../dsl/validate.js';
import type { PhaseModel, RunbookModel, StepModel } from '../dsl/model.js';
import type { Decider } from './decisions.js';
import type { Inventory } from '../inventory/index.js';
import type { Emitter } from './emitter.js';
import type { ConnectionPool } from './connections.js';
import { pendingState, scopeView, type StepState } from './state.js';
import { RunCancelled } from './timers.js';
import { secretForms } from './masked-output.js';
import { phaseAddress } from './address.js';
import { emptyReplay, type Replay } from './instances.js';
import type { EventInput, StepStatus } from './events.js';
import type { RunServices } from '../steps/types.js';
import { SshPool } from '../transport/ssh/pool.js';

const NO_TAGS: InstanceTags = Object.freeze({});

export interface Level {
  model: RunbookModel;
  loaded: LoadedRunbook;
  params: Record<string, unknown>;
  /** Inside a sub-runbook: the instance address of its `runbook:` step (`each[1]`); undefined at top level. */
  parent?: string;
  depth: number;
  states: Map<string, StepState>;
  /** `steps.<id>` as expressions see it, kept in step with `states`. */
  stepsScope: Record<string, Record<string, unknown>>;
  connections: ConnectionPool;
  /** The secrets this level's runbook declares (sub-runbooks); the top level uses the run's. */
  secrets?: Record<string, string>;
  /**
   * A sub-runbook level: the signal of its `runbook:` step's attempt (its timeout, the run's abort).
   * While it is aborted no new step of the level starts and its running steps are cancelled.
   */
  signal?: AbortSignal;
}

export interface PhaseCtx {
  id: string;
  fullId: string;
  budget_ms?: number;
  startedAt: number;
}

export interface RunSettings {
  dryRun: boolean;
  stepMode: boolean;
  yes: boolean;
  env: NodeJS.ProcessEnv;
  secrets: Record<string, string>;
  /** At most this many steps run at once in the whole run (`--max-parallel`, spec §12; default 64). */
  maxParallel?: number;
  /** Secrets of sub-runbooks, by absolute file; runtime-named ones are added as they are read. */
  childSecrets: Map<string, Record<string, string>>;
  /** The inventory (`inventory:` or `--inventory`), loaded before the run started. */
  inventory?: Inventory;
}

/** One instance that started (a step, a for_each item, a sub-runbook's step): what rollback works on. */
export interface InstanceRun {
  address: string;
  level: Level;
  model: StepModel;
  item?: { index: number; item: unknown };
  /** Order of start, across resumes (rollback runs in reverse). */
  seq: number;
  status: StepStatus;
  /** `self` inside its rollback: the instance's own status, outputs, result. */
  self: Record<string, unknown>;
  /** Resume: was running when the process died and the operator chose not to run it again. */
  inflightSkipped?: boolean;
  rollbackDone?: boolean;
  /** Resume: how its rollback ended in the dead process. */
  rollbackStatus?: StepStatus;
}

/** The fields an item's (or host's) events carry besides `step`. */
export interface InstanceTags {
  index?: number;
  item?: unknown;
  /** A host instance of an `on:` step (spec §9). */
  host?: string;
}

export class RunContext {
  /** Fires when the run fails or is aborted: running steps are cancelled, nothing new starts. */
  readonly runAbort = new AbortController();
  /** Fires on a second signal: rollback is skipped/cancelled. */
  readonly rollbackAbort = new AbortController();
  /** Fires on a third signal: finally steps are cancelled too. */
  readonly finallyAbort = new AbortController();
  failure: { step?: string; error: string } | null = null;
  aborted: { by: string; rollback: boolean } | null = null;
  readonly started: InstanceRun[] = [];
  private seq = 0;
  /** Resume: what the dead process knew, by instance address (instances.ts); empty for a new run. */
  replay: Replay = emptyReplay();
  /** Item instances' `index`/`item`, added to each of their events. */
  private readonly tags = new Map<string, InstanceTags>();
  /** Connection pools of sub-runbook levels rebuilt on resume (closed at the end of the run). */
  readonly extraPools: ConnectionPool[] = [];
  /** Finally sections of failed phases (and failed sub-runbooks), run after the rollback. */
  readonly deferredFinally: { level: Level; steps: StepModel[]; phase: PhaseCtx }[] = [];
  readonly startedAt: number;
  readonly host = hostname();
  /** Every form of every secret, for output that arrives in chunks (masked-output.ts). */
  readonly secretForms: string[];
  readonly runScope: Record<string, unknown>;
  /** Shared by every level's connections: the inventory and the one ssh pool (closed at the run's end). */
  readonly services: RunServices;

  constructor(
    readonly runId: string,
    readonly emitter: Emitter,
    readonly decider: Decider,
    readonly settings: RunSettings,
    startedAt = Date.now(),
  ) {
    this.startedAt = startedAt;
    this.services = { ssh: new SshPool(), ...(settings.inventory ? { inventory: settings.inventory } : {}) };
    this.secretForms = secretForms([settings.secrets, ...settings.childSecrets.values()].flatMap((m) => Object.values(m)));
    this.runScope = {
      id: runId,
      started_at: new Date(startedAt).toISOString(),
      get elapsed() {
        return Date.now() - startedAt;
      },
      dry_run: settings.dryRun,
      interactive: decider.interactive,
    };
  }

  /** main: phases run; rollback; finally: deferred finally sections run after the rollback. */
  stage: 'main' | 'rollback' | 'finally' = 'main';
  /** Resume: what was decided for each in-flight instance (asked once, before the run continues). */
  readonly inflightDecisions = new Map<string, 'rerun' | 'skip'>();
  /** Resume: what was decided for each rollback that was running when the process died. */
  readonly rollbackDecisions = new Map<string, 'rerun' | 'skip'>();

  /** The signal new work runs under in the current stage. */
  get activeSignal(): AbortSignal {
    return this.stage === 'main' ? this.runAbort.signal : this.stage === 'rollback' ? this.rollbackAbort.signal : this.finallyAbort.signal;
  }

  /** The signal a step of this level runs under: its sub-runbook step's attempt in the main stage. */
  signalOf(level: Level): AbortSignal {
    return this.stage === 'main' && level.signal ? level.signal : this.activeSignal;
  }

  /** Whether a step of this level may no longer start (the run is stopping, or its sub-runbook step ended). */
  stoppingIn(level: Level): boolean {
    return this.stopping || (this.stage === 'main' && !!level.signal?.aborted);
  }

  /** Whether a step of the main stage may still start. */
  get stopping(): boolean {
    return this.stage === 'main' && (this.failure !== null || this.aborted !== null);
  }

  get failedOrAborted(): boolean {
    return this.failure !== null || this.aborted !== null;
  }

  /** The run fails: remember the first failure and cancel everything running. */
  fail(error: string, step?: string): void {
    if (this.failure || this.aborted) return;
    this.failure = { step, error };
    this.runAbort.abort(new RunCancelled(step ? `step '${step}' failed` : error));
  }

  /** Operator or signal: 1st abort rolls back per policy, a later one skips the rollback. */
  abort(by: string, rollback: boolean): void {
    if (!this.aborted) {
      this.aborted = { by, rollback };
      this.runAbort.abort(new RunCancelled(`aborted by ${by}`));
    } else if (!rollback && this.aborted.rollback) {
      this.aborted.rollback = false;
      this.rollbackAbort.abort(new RunCancelled(`rollback skipped by ${by}`));
    } else {
      this.finallyAbort.abort(new RunCancelled(`finally cancelled by ${by}`));
    }
  }

  /**
   * Record that an instance started (once per address). A restored or re-run instance keeps the
   * order of its first start in the dead process; new starts count on after the journal's.
   */
  markStarted(level: Level, model: StepModel, address: string, item?: { index: number; item: unknown }): InstanceRun {
    const known = this.startedByAddress.get(address);
    if (known) return known;
    const seq = this.replay.instances.get(address)?.seq ?? this.replay.maxSeq + ++this.seq;
    const run: InstanceRun = { address, level, model, ...(item ? { item } : {}), seq, status: 'running', self: {} };
    this.started.push(run);
    this.startedByAddress.set(address, run);
    return run;
  }

  private readonly startedByAddress = new Map<string, InstanceRun>();

  instanceRun(address: string): InstanceRun | undefined {
    return this.startedByAddress.get(address);
  }

  /**
   * Events of restoring (resume): held while the Runner is being built — nothing may be journaled
   * before resume has its answers (a refused resume leaves the journal as it was) — then emitted
   * after run.resumed. Levels restored later (a sub-runbook re-entered) emit at once.
   */
  held: EventInput[] | undefined;

  emitRestored(e: EventInput): void {
    if (this.held) this.held.push(e);
    else this.emitter.emit(e);
  }

  setTags(address: string, tags: InstanceTags): void {
    this.tags.set(address, tags);
  }

  /** `index`/`item` of an item instance's events ({} for a plain step). */
  tagsOf(address: string): InstanceTags {
    return this.tags.get(address) ?? NO_TAGS;
  }

  setState(level: Level, id: string, patch: Partial<StepState>): StepState {
    const s = level.states.get(id) ?? pendingState(id);
    Object.assign(s, patch);
    level.states.set(id, s);
    level.stepsScope[id] = scopeView(s);
    return s;
  }

  scope(level: Level, phase?: PhaseCtx, extra?: Scope): Scope {
    const secrets = level.secrets ?? this.settings.secrets;
    return {
      params: level.params,
      env: this.settings.env,
      secrets,
      steps: level.stepsScope,
      run: this.runScope,
      phase: phase
        ? { id: phase.id, budget: phase.budget_ms ?? null, elapsed: Date.now() - phase.startedAt }
        : { id: null, budget: null, elapsed: null },
      objectives: { rto: level.model.objectives.rto_ms ?? null, rpo: level.model.objectives.rpo_ms ?? null },
      ...extra,
    };
  }
}

export function newLevel(
  model: RunbookModel,
  loaded: LoadedRunbook,
  params: Record<string, unknown>,
  connections: ConnectionPool,
  parent?: { address: string; depth: number; signal?: AbortSignal; secrets?: Record<string, string> },
): Level {
  const states = new Map<string, StepState>();
  const stepsScope: Record<string, Record<string, unknown>> = {};
  for (const [id, m] of model.steps) {
    const s = pendingState(id, m);
    states.set(id, s);
    stepsScope[id] = scopeView(s);
  }
  return {
    model,
    loaded,
    params,
    ...(parent ? { parent: parent.address } : {}),
    depth: parent ? parent.depth + 1 : 0,
    states,
    stepsScope,
    connections,
    ...(parent?.signal ? { signal: parent.signal } : {}),
    ...(parent?.secrets ? { secrets: parent.secrets } : {}),
  };
}

export const phaseCtxOf = (level: Level, ph: PhaseModel | { id: string; budget_ms?: number }): PhaseCtx => ({
  id: ph.id,
  fullId: phaseAddress(level.parent, ph.id),
  budget_ms: ph.budget_ms,
  startedAt: Date.now(),
});

export { UNKNOWN };
