/**
 * The parts of the runbook JSON Schema that are not a step type's body: the document, phases,
 * common step fields, control step bodies, params, secrets, objectives. `schema.ts` assembles these
 * with the fragments each step type and connection kind declares.
 */
import type { JsonSchema } from './json-schema.js';
import { DURATION_PATTERN } from './duration.js';
import { SIZE_PATTERN } from './size.js';

export const ID_PATTERN = '^[a-z][a-z0-9_]*(-[a-z0-9_]+)*$';
export const NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*$';
/** `25%`, `12.5%`: a share of a fan-out's hosts (batch, max_failures). */
export const PERCENT_PATTERN = '^(100|[0-9]{1,2}(\\.[0-9]+)?)%$';

/** A string that is exactly one `${{ … }}` (no text around it, no second `${{`). */
export const EXPRESSION_STRING_PATTERN = '^\\$\\{\\{((?!\\}\\})[\\s\\S])*\\}\\}$';

const ref = (name: string): JsonSchema => ({ $ref: `#/$defs/${name}` });

export const coreDefs: Record<string, JsonSchema> = {
  duration: {
    type: 'string',
    pattern: DURATION_PATTERN,
    description: 'A duration: 250ms, 30s, 5m, 1h30m, 2d.',
  },
  size: {
    description: 'A size: a number of bytes, or 512KiB, 1MiB, 10MB (KiB/MiB/GiB are 1024-based, KB/MB/GB 1000-based).',
    anyOf: [
      { type: 'integer', minimum: 0, description: 'Bytes.' },
      { type: 'string', pattern: SIZE_PATTERN, description: 'A number with a unit: B, KB, KiB, MB, MiB, GB, GiB.' },
    ],
  },
  expression: {
    type: ['string', 'boolean'],
    description: "An expression (spec §3), bare or wrapped in '${{ }}', e.g. steps.check.status == 'succeeded'.",
  },
  expression_string: {
    type: 'string',
    pattern: EXPRESSION_STRING_PATTERN,
    description: 'A value given as one whole ${{ expr }}; it takes the type of what the expression gives (number, list, …).',
  },
  expressions: {
    description: 'An expression, or a list of expressions that must all hold.',
    anyOf: [ref('expression'), { type: 'array', items: ref('expression'), minItems: 1 }],
  },
  retry: {
    type: 'object',
    description: 'Re-run the body after an error, a timeout or a failed expect.',
    additionalProperties: false,
    properties: {
      attempts: { type: 'integer', minimum: 1, maximum: 1000, description: 'Total attempts, the first included (1 = no retry).' },
      delay: { ...ref('duration'), description: 'Wait before the second attempt (default 1s).' },
      backoff: { type: 'number', minimum: 1, description: 'Multiply the delay by this after each attempt (default 1).' },
      max_delay: { ...ref('duration'), description: 'Upper bound of the delay between attempts.' },
    },
  },
  until: {
    type: 'object',
    description: 'Repeat the body until the condition holds (`result` in scope); fails with timed_out after `within`.',
    additionalProperties: false,
    required: ['condition'],
    properties: {
      condition: { ...ref('expression'), description: 'Stop repeating when this holds.' },
      every: { ...ref('duration'), description: 'Pause between polls (default 2s).' },
      within: { ...ref('duration'), description: 'Give up (timed_out) after this long (default: the step timeout).' },
    },
  },
  outputs: {
    type: 'object',
    description: 'Named values computed from `result`, stored as steps.<id>.outputs.<name>.',
    propertyNames: { pattern: NAME_PATTERN },
    additionalProperties: { description: 'An expression over `result` (or a literal).' },
  },
  wait: { ...ref('duration'), description: 'Control step: pause for this long.' },
  approve: {
    type: 'object',
    description: 'Control step: a human gate. Non-interactive runs need --yes, otherwise the step fails.',
    additionalProperties: false,
    required: ['message'],
    properties: {
      message: { type: 'string', description: 'What the operator is asked to approve.' },
      timeout: { ...ref('duration'), description: 'Fail the step when nobody answers within this long.' },
    },
  },
  assert: { ...ref('expressions'), description: 'Control step: fail unless every expression holds.' },
  log: { type: 'string', description: "Control step: a note in the journal and the report. It notifies nobody: use a `notify` step for that." },
  runbook: {
    type: 'object',
    description: "Control step: run another runbook inline; its phases nest under this step and its outputs become this step's outputs.",
    additionalProperties: false,
    required: ['file'],
    properties: {
      file: { type: 'string', description: "Path of the runbook file, relative to this file's folder." },
      params: { type: 'object', description: 'Params passed to the sub-runbook (values may use ${{ }}).', additionalProperties: true },
    },
  },
  param: {
    type: 'object',
    description: 'A run parameter, set with --set name=value.',
    additionalProperties: false,
    properties: {
      type: { enum: ['string', 'number', 'integer', 'boolean', 'duration', 'list', 'object'], description: 'Value type (default string). --set values are parsed to it.' },
      default: { description: 'Value used when the param is not set.' },
      description: { type: 'string', description: 'Shown in --help of the runbook and in plan.' },
      enum: { type: 'array', minItems: 1, description: 'Allowed values.' },
      required: { type: 'boolean', description: 'The run refuses to start without it.' },
      pattern: { type: 'string', description: 'A regular expression a string value must match.' },
      items: {
        enum: ['string', 'number', 'integer', 'boolean', 'duration'],
        description: 'list params: the type of each element; `--set a,b` and the default are both parsed to it (default: the type of the default\'s elements, else string).',
      },
    },
  },
  secret: {
    type: 'object',
    description: 'Where a secret comes from. Its value is masked as *** wherever it would be printed.',
    additionalProperties: false,
    properties: {
      env: { type: 'string', description: 'Name of an environment variable holding the secret.' },
      file: { type: 'string', description: 'Path of a file holding the secret (trailing newline removed).' },
      required: { type: 'boolean', description: 'Fail before running when the secret is missing (default true).' },
    },
    oneOf: [{ required: ['env'] }, { required: ['file'] }],
  },
  objectives: {
    type: 'object',
    description: 'Recovery objectives the run is measured against.',
    additionalProperties: false,
    properties: {
      rto: { ...ref('duration'), description: 'Recovery time objective for the whole run.' },
      rpo: { ...ref('duration'), description: 'Recovery point objective (reported against `measure.rpo`).' },
      on_exceeded: { enum: ['warn', 'abort'], description: 'When the RTO or a phase budget is passed: warn (default) or abort the run.' },
    },
  },
  defaults: {
    type: 'object',
    description: 'Defaults for every step.',
    additionalProperties: false,
    properties: {
      timeout: { ...ref('duration'), description: 'Per-attempt timeout (built-in default 5m).' },
      retry: ref('retry'),
      output_limit: { ...ref('size'), description: 'What a step prints is journaled up to this per stream (built-in default 1MiB); the rest is counted in step.output_truncated.' },
    },
  },
};

/** Common fields every step has besides its one body key (spec §2). */
export const stepCommonProperties: Record<string, JsonSchema> = {
  id: { type: 'string', pattern: ID_PATTERN, description: 'Unique id of the step in the runbook, e.g. stop-app.' },
  title: { type: 'string', description: 'Shown in the TUI and reports.' },
  description: { type: 'string', description: 'Longer explanation for the operator.' },
  when: { ...ref('expression'), description: 'Guard: false → the step is skipped (dependents still run and can test that).' },
  needs: {
    type: 'array',
    uniqueItems: true,
    items: { type: 'string', pattern: ID_PATTERN },
    description: 'Step ids this step waits for. Default: the step before it in its phase; [] starts it at phase start.',
  },
  timeout: { ...ref('duration'), description: 'Per attempt; the work is cancelled when it passes → timed_out.' },
  output_limit: { ...ref('size'), description: 'Journal what the step prints up to this per stream (default: defaults.output_limit, else 1MiB); the rest is counted in step.output_truncated.' },
  retry: ref('retry'),
  until: ref('until'),
  expect: { ...ref('expressions'), description: 'Must hold on `result`, else the attempt fails.' },
  outputs: ref('outputs'),
  on_failure: { enum: ['abort', 'continue'], description: 'abort (default): the run fails; continue: recorded as failed, the run goes on.' },
  rollback: ref('rollback'),
  confirm: { type: 'boolean', description: "Needs an operator's yes before it runs (--yes for non-interactive runs)." },
  idempotent: { type: 'boolean', description: 'Safe to run again when a crashed run is resumed.' },
  for_each: {
    description: 'An expression giving a list (or a literal list): the body runs once per element with `item` and `index` in scope.',
    anyOf: [{ type: 'string' }, { type: 'array' }],
  },
  concurrency: { type: 'integer', minimum: 1, description: 'for_each: how many items run at once; on: how many hosts at once (default 1).' },
  on: {
    type: 'string',
    pattern: NAME_PATTERN,
    description: 'shell and docker steps: run on every host of this ssh connection (spec §9); each host is an instance `<id>[<host>]`, with `host` in scope.',
  },
  batch: {
    description: 'on: rolling batches, a number of hosts or a percentage of them (`25%`); one batch must finish before the next starts (default: all hosts in one batch).',
    anyOf: [
      { type: 'integer', minimum: 1, description: 'Hosts per batch.' },
      { type: 'string', pattern: PERCENT_PATTERN, description: 'A percentage of the hosts per batch, rounded up (at least 1).' },
    ],
  },
  max_failures: {
    description: 'on: failed hosts tolerated before the step fails and no further host starts: a number or a percentage (`40%`, rounded down); default 0.',
    anyOf: [
      { type: 'integer', minimum: 0, description: 'Failed hosts tolerated.' },
      { type: 'string', pattern: PERCENT_PATTERN, description: 'A percentage of the hosts, rounded down.' },
    ],
  },
  estimate: { ...ref('duration'), description: 'Expected duration, used by plan until history exists.' },
  irreversible: {
    type: 'string',
    minLength: 1,
    description: 'Why this step, which changes the world, has no rollback (e.g. "deleting expired backups cannot be undone"). Without it or a rollback, validate warns NO_ROLLBACK.',
  },
};

/** Fields a rollback body may carry besides its body key. */
export const rollbackCommonProperties: Record<string, JsonSchema> = {
  title: { type: 'string', description: 'Shown in the TUI and reports.' },
  when: { ...ref('expression'), description: "Guard, e.g. self.status == 'succeeded' (`self` is the original step)." },
  timeout: { ...ref('duration'), description: 'Per attempt.' },
  output_limit: { ...ref('size'), description: 'Journal what the rollback prints up to this per stream (default: defaults.output_limit, else 1MiB).' },
  retry: ref('retry'),
  expect: { ...ref('expressions'), description: 'Must hold on `result`.' },
  confirm: { type: 'boolean', description: 'Needs an operator\'s yes before it runs.' },
  idempotent: { type: 'boolean', description: 'Safe to run again when a resume finds this rollback was running when the process died.' },
};

export const CONTROL_BODIES = ['wait', 'approve', 'assert', 'log', 'runbook'] as const;

export function phaseSchema(): JsonSchema {
  return {
    type: 'object',
    description: 'A phase: steps run as a graph (sequential by default), then its finally steps.',
    additionalProperties: false,
    required: ['id', 'steps'],
    properties: {
      id: { type: 'string', pattern: ID_PATTERN, description: 'Unique id of the phase.' },
      title: { type: 'string', description: 'Shown in the TUI and reports.' },
      description: { type: 'string', description: 'Longer explanation.' },
      budget: { ...ref('duration'), description: "The phase's time budget (tracked against on_exceeded)." },
      when: { ...ref('expression'), description: 'Guard: false → every step of the phase is skipped.' },
      steps: { type: 'array', items: ref('step'), minItems: 1, description: 'The steps of the phase.' },
      finally: { type: 'array', items: ref('step'), description: 'Always run at the end of this phase.' },
    },
  };
}

export function documentProperties(): Record<string, JsonSchema> {
  return {
    runbook: { type: 'string', pattern: ID_PATTERN, description: 'Id of the runbook, e.g. database-corruption.' },
    title: { type: 'string', description: 'Human title.' },
    description: { type: 'string', description: 'What this runbook recovers from and when to use it.' },
    severity: { enum: ['P0', 'P1', 'P2', 'P3'], description: 'Incident severity this runbook is for.' },
    kind: {
      enum: ['recovery', 'backup', 'restore-test', 'maintenance'],
      description: 'What its runs count as in `runbook stats` (default recovery): a recovery (MTTR, RTO, RPO), a backup, a restore test, or maintenance (counted nowhere).',
    },
    objectives: ref('objectives'),
    rollback: { enum: ['auto', 'prompt', 'off'], description: 'After a failure: auto (default) rolls back started steps, prompt asks, off does nothing.' },
    lock: { type: 'string', minLength: 1, description: 'Name of the lock held for the whole run (default: the runbook id).' },
    params: {
      type: 'object',
      description: 'Run parameters.',
      propertyNames: { pattern: NAME_PATTERN },
      additionalProperties: ref('param'),
    },
    secrets: {
      type: 'object',
      description: 'Secrets, read from the environment or files.',
      propertyNames: { pattern: NAME_PATTERN },
      additionalProperties: ref('secret'),
    },
    inventory: {
      type: 'string',
      minLength: 1,
      description: "An Ansible inventory (YAML or INI) for the ssh connections' `hosts`, relative to this file's folder (`--inventory FILE` wins).",
    },
    connections: {
      type: 'object',
      description: 'Named connections steps refer to by `connection:`.',
      propertyNames: { pattern: NAME_PATTERN },
      additionalProperties: ref('connection'),
    },
    defaults: ref('defaults'),
    phases: { type: 'array', items: ref('phase'), minItems: 1, description: 'The phases, run in order.' },
    finally: { type: 'array', items: ref('step'), description: 'Always run at the end of the run, after any rollback.' },
    measure: {
      type: 'object',
      description: 'Figures for the report, evaluated at the end (rpo in milliseconds is compared with objectives.rpo).',
      propertyNames: { pattern: NAME_PATTERN },
      additionalProperties: { description: 'An expression (or a literal).' },
    },
  };
}

/**
 * Lets every typed value inside a step body or a connection config also be one whole `${{ }}`
 * (`port: "${{ env.PGPORT }}"`, `expect_status: "${{ params.codes }}"`, `tail: "${{ params.n }}"`):
 * such a string keeps the type of its value once resolved, and bodies and connections are resolved
 * right before use, so an ops engineer rightly expects it to be accepted wherever a number, boolean,
 * list or map is. `{type: X}` becomes `anyOf: [{type: X}, expression_string]`; alternatives gain an
 * expression branch. Not touched, on purpose: enums and consts (`action`, `method` decide which
 * fields a body needs, so they stay literal), and the common step fields (`timeout`, `retry`,
 * `concurrency`, …), which the model fixes when the runbook is loaded, before any param is known.
 */
export function allowExpressionsIn(schema: JsonSchema): JsonSchema {
  return walkInner(schema);
}

const EXPR_REF: JsonSchema = { $ref: '#/$defs/expression_string' };

function acceptsAnyString(s: JsonSchema): boolean {
  const t = s.type;
  const types = Array.isArray(t) ? t : [t];
  return types.includes('string') && s.pattern === undefined && s.format === undefined && s.enum === undefined && s.const === undefined;
}

/** Walks properties, additionalProperties and items (not if/then/not/allOf: they only constrain). */
function walkInner(s: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...s };
  if (s.properties && typeof s.properties === 'object') {
    out.properties = Object.fromEntries(Object.entries(s.properties as Record<string, JsonSchema>).map(([k, v]) => [k, allowValue(v)]));
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object') out.additionalProperties = allowValue(s.additionalProperties as JsonSchema);
  if (s.items && typeof s.items === 'object' && !Array.isArray(s.items)) out.items = allowValue(s.items as JsonSchema);
  return out;
}

function allowValue(s: JsonSchema): JsonSchema {
  if (s.$ref !== undefined) return s;
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = s[key];
    if (!Array.isArray(branches)) continue;
    const walked = (branches as JsonSchema[]).map(walkInner);
    const stringOk = walked.some(acceptsAnyString);
    return { ...s, [key]: stringOk ? walked : [...walked, EXPR_REF] };
  }
  if (s.type === undefined) return s;
  const walked = walkInner(s);
  if (acceptsAnyString(walked)) return walked;
  const { description, ...rest } = walked;
  return { ...(description === undefined ? {} : { description }), anyOf: [rest, EXPR_REF] };
}
