/**
 * The one interface every step type implements (shell, sql, http, s3, docker, and the control types).
 * Adding a type means adding one module here and one line in `./registry.ts`; no other type changes.
 *
 * The interpreter owns everything common: `${{ }}` resolution of the body (the body a type receives
 * is already resolved and secret values are real), timeouts, retries, `until`, `expect`, `outputs`,
 * journaling and masking of secrets in what is printed. A type only does its work and honours
 * `ctx.signal`.
 */
import type { JsonSchema } from '../dsl/json-schema.js';
import type { Inventory } from '../inventory/index.js';
import type { SshPool } from '../transport/ssh/pool.js';
import type { RemoteHost } from './ssh/hosts.js';
import type { Transport } from '../transport/types.js';

export interface StepOutputSink {
  /** A chunk of live output (shell stdout, docker logs, info lines). Masked and journaled by the caller. */
  output(stream: 'stdout' | 'stderr' | 'info', text: string): void;
  /** Live progress (bytes transferred, poll state). Throttled by the caller. */
  progress(p: { bytes?: number; total?: number; rate?: number; message?: string }): void;
}

export interface StepContext extends StepOutputSink {
  /** Fires on the attempt's timeout, the run's abort, the operator's abort, SIGINT/SIGTERM. */
  signal: AbortSignal;
  runId: string;
  /** Dotted id of the step (`parent.child` inside sub-runbooks). */
  stepId: string;
  /** Folder of the runbook file: default cwd for shell, base for relative paths. */
  baseDir: string;
  /** The interpreter's environment (what `shell` inherits). */
  env: NodeJS.ProcessEnv;
  /**
   * Open (lazily) the named connection of the given kind (or of one of the given kinds); clients are
   * shared per run and closed at its end.
   */
  connection<T = unknown>(name: string, kind: string | readonly string[]): Promise<T>;
  /** The run's secret values replaced by `***` (what a step sends to a third party, e.g. a chat message). */
  mask?(text: string): string;
  /** `on:` (spec §9): the host this instance runs on, and the transport that runs its commands there. */
  remote?: { host: RemoteHost; transport: Transport };
  /** The run's shared services (the ssh pool: `docker` on a host reaches its engine through it). */
  services?: RunServices;
}

/** A failure of the step's work. `result` (when there is one) is still exposed as `steps.<id>.result`. */
export class StepFailure extends Error {
  constructor(
    message: string,
    readonly result?: Record<string, unknown>,
    readonly code = 'STEP_FAILED',
  ) {
    super(message);
    this.name = 'StepFailure';
  }
}

export interface PreflightCheck {
  target: string;
  ok: boolean;
  detail: string;
}

export interface StepType<Body = Record<string, unknown>> {
  /** The body key in YAML: `shell`, `sql`, … */
  name: string;
  /** One-line description for docs and the schema. */
  description: string;
  /** JSON Schema (2020-12) of the body value. `additionalProperties: false`, `description` everywhere. */
  schema: JsonSchema;
  /** Whether the body changes the world (journal must be fsync'd before it starts, spec §6). */
  sideEffects: boolean;
  /**
   * Whether this body only reads (spec §12: such a step needs no `rollback` or `irreversible`). Given
   * the body as written (templates unresolved). Absent: the type always changes the world.
   */
  readOnly?(body: Body): boolean;
  /** Connection kind its `connection` field must name (`postgres`, `s3`, `docker`, `http`), or the kinds it accepts (notify). */
  connectionKind?: string | readonly string[];
  /**
   * Set when no body of this type can be undone, saying why (notify: a message cannot be unsent).
   * The rollback-coverage check (NO_ROLLBACK) takes such a step as declared irreversible.
   */
  irreversible?: string;
  /** Body fields (top-level keys) where `${{ }}` is a validation error (sql `query`/`script`). */
  noInterpolation?: string[];
  /** Body fields holding a shell script: values reach it as environment variables (shell `run`; spec §12). */
  shellQuoted?: string[];
  /** Body fields holding a URL: values are percent-encoded for their part of it (http `url`; spec §12). */
  urlFields?: string[];
  /** A short rendering for `plan` / `--step` (the body is resolved as far as known). */
  render(body: Body): string;
  /** Read-only checks for `plan --preflight`. */
  preflight?(body: Body, ctx: StepContext): Promise<PreflightCheck[]>;
  /** Do the work. Throw `StepFailure` (or any error) to fail the attempt. Must honour `ctx.signal`. */
  execute(body: Body, ctx: StepContext): Promise<Record<string, unknown>>;
}

/** What the run shares with every connection it opens: the inventory, the one pool of ssh connections. */
export interface RunServices {
  /** The inventory (`inventory:` or `--inventory`), loaded before the run starts. */
  inventory?: Inventory;
  /** One pooled ssh2 connection per host for the whole run (spec §9). */
  ssh: SshPool;
}

export interface ConnectionOpenContext {
  /** The connection's name under `connections:`, for messages. */
  name?: string;
  runId: string;
  baseDir: string;
  env: NodeJS.ProcessEnv;
  services?: RunServices;
  /** Another connection of the same runbook (`via`: the jump host, `postgres.via`, `docker.host: ssh://`). */
  connection?<T = unknown>(name: string, kind: string | readonly string[]): Promise<T>;
}

/** A kind of connection under `connections:` (`postgres`, `s3`, `docker`, `http`). */
export interface ConnectionKind<Config = Record<string, unknown>, Client = unknown> {
  name: string;
  description: string;
  schema: JsonSchema;
  /** Open a client from the resolved config. */
  open(config: Config, ctx: ConnectionOpenContext): Promise<Client> | Client;
  /** Close it at the end of the run. */
  close?(client: Client): Promise<void> | void;
  /** Read-only reachability check for `plan --preflight` (target = human-readable name). */
  preflight?(client: Client, config: Config): Promise<PreflightCheck | PreflightCheck[]>;
  /** Config fields holding a URL: values are percent-encoded for their part of it (dsl/expr/url-quote.ts). */
  urlFields?: string[];
  /** A safe description for messages (host, port, database — never a password). */
  describe?(config: Config): string;
}
