/* Generated from the runbook schema (src/dsl/schema.ts) by `npm run gen` — do not edit. */
/* eslint-disable */

/**
 * Where a secret comes from. Its value is masked as *** wherever it would be printed.
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "secret".
 */
export type Secret = {
  /**
   * Name of an environment variable holding the secret.
   */
  env?: string;
  /**
   * Path of a file holding the secret (trailing newline removed).
   */
  file?: string;
  /**
   * Fail before running when the secret is missing (default true).
   */
  required?: boolean;
} & Secret1;
export type Secret1 = {
  [k: string]: unknown;
};
/**
 * A value given as one whole ${{ expr }}; it takes the type of what the expression gives (number, list, …).
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "expression_string".
 */
export type ExpressionString = string;
/**
 * A step: common fields plus exactly one body key (shell, sql, http, s3, docker, notify, wait, approve, assert, log, runbook).
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "step".
 */
export type Step = {
  /**
   * Unique id of the step in the runbook, e.g. stop-app.
   */
  id: string;
  /**
   * Shown in the TUI and reports.
   */
  title?: string;
  /**
   * Longer explanation for the operator.
   */
  description?: string;
  /**
   * Guard: false → the step is skipped (dependents still run and can test that).
   */
  when?: string | boolean;
  /**
   * Step ids this step waits for. Default: the step before it in its phase; [] starts it at phase start.
   */
  needs?: string[];
  /**
   * Per attempt; the work is cancelled when it passes → timed_out.
   */
  timeout?: string;
  /**
   * Journal what the step prints up to this per stream (default: defaults.output_limit, else 1MiB); the rest is counted in step.output_truncated.
   */
  output_limit?: number | string;
  retry?: Retry;
  until?: Until;
  /**
   * Must hold on `result`, else the attempt fails.
   */
  expect?: Expression | [Expression, ...Expression[]];
  outputs?: Outputs;
  /**
   * abort (default): the run fails; continue: recorded as failed, the run goes on.
   */
  on_failure?: 'abort' | 'continue';
  rollback?: Rollback;
  /**
   * Needs an operator's yes before it runs (--yes for non-interactive runs).
   */
  confirm?: boolean;
  /**
   * Safe to run again when a crashed run is resumed.
   */
  idempotent?: boolean;
  /**
   * An expression giving a list (or a literal list): the body runs once per element with `item` and `index` in scope.
   */
  for_each?: string | unknown[];
  /**
   * for_each: how many items run at once; on: how many hosts at once (default 1).
   */
  concurrency?: number;
  /**
   * shell and docker steps: run on every host of this ssh connection (spec §9); each host is an instance `<id>[<host>]`, with `host` in scope.
   */
  on?: string;
  /**
   * on: rolling batches, a number of hosts or a percentage of them (`25%`); one batch must finish before the next starts (default: all hosts in one batch).
   */
  batch?: number | string;
  /**
   * on: failed hosts tolerated before the step fails and no further host starts: a number or a percentage (`40%`, rounded down); default 0.
   */
  max_failures?: number | string;
  /**
   * Expected duration, used by plan until history exists.
   */
  estimate?: string;
  /**
   * Why this step, which changes the world, has no rollback (e.g. "deleting expired backups cannot be undone"). Without it or a rollback, validate warns NO_ROLLBACK.
   */
  irreversible?: string;
  /**
   * Run a bash script or a command; output streamed live; result exit_code, stdout, stderr, json.
   */
  shell?: {
    [k: string]: unknown;
  };
  /**
   * Run SQL on PostgreSQL (a query with bind params, or a script), optionally in a transaction; cancelled on the server on timeout.
   */
  sql?: {
    [k: string]: unknown;
  };
  /**
   * An HTTP request through undici, checked against the expected status.
   */
  http?: {
    /**
     * Name of an `http` connection (base URL, headers, TLS). Optional when `url` is absolute.
     */
    connection?: string;
    /**
     * HTTP method (default GET).
     */
    method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
    /**
     * Absolute URL, or a path appended to the connection's `base_url` (`/actuator/health`).
     */
    url: string;
    /**
     * Request headers; they override the connection's headers of the same name.
     */
    headers?:
      | {
          [k: string]: string;
        }
      | ExpressionString;
    /**
     * Query parameters added to the URL, name → value (a list repeats the parameter).
     */
    query?:
      | {
          [k: string]: (string | number | boolean) | (string | number | boolean)[];
        }
      | ExpressionString;
    /**
     * Request body sent as JSON (Content-Type: application/json). Give one of `json`, `body`, `form`.
     */
    json?: {
      [k: string]: unknown;
    };
    /**
     * Raw request body (set Content-Type in `headers`). Give one of `json`, `body`, `form`.
     */
    body?: string;
    /**
     * Request body sent URL-encoded (application/x-www-form-urlencoded). Give one of `json`, `body`, `form`.
     */
    form?:
      | {
          [k: string]: string | number | boolean;
        }
      | ExpressionString;
    /**
     * Accepted status code(s), e.g. 200 or [200, 503]. Default: any 2xx. Any other status fails the step.
     */
    expect_status?: number | [number | ExpressionString, ...(number | ExpressionString)[]] | ExpressionString;
    /**
     * Accept any TLS certificate for this request.
     */
    insecure_tls?: boolean | ExpressionString;
    /**
     * PEM file of the CA(s) for this request (relative to the runbook file).
     */
    ca_file?: string;
    /**
     * Follow redirects, up to 5 (default true).
     */
    follow_redirects?: boolean | ExpressionString;
  };
  /**
   * Object storage through the AWS SDK: put, get, list, latest, head, delete, copy.
   */
  s3?: {
    [k: string]: unknown;
  };
  /**
   * Docker Engine API: start, stop, restart, kill, inspect, logs, wait_healthy, exec, run, ps, images.
   */
  docker?: {
    [k: string]: unknown;
  };
  /**
   * A notification: a PagerDuty event, a Slack message, a webhook POST or a mail.
   */
  notify?: {
    /**
     * Name of a `slack`, `pagerduty`, `smtp` or `webhook` connection under `connections`.
     */
    connection: string;
    /**
     * The message (Slack text, mail body, webhook `text`; PagerDuty: the summary when `summary` is not given).
     */
    text?: string;
    /**
     * PagerDuty: the incident summary (up to 1024 characters). Elsewhere: the message when `text` is not given.
     */
    summary?: string;
    /**
     * PagerDuty event action (default trigger). A webhook receives it as `event`.
     */
    event?: 'trigger' | 'acknowledge' | 'resolve';
    /**
     * P0 → critical, P1 → error, P2 → warning, P3 → info (PagerDuty severities are accepted as is). Default critical for a trigger.
     */
    severity?: 'P0' | 'P1' | 'P2' | 'P3' | 'critical' | 'error' | 'warning' | 'info';
    /**
     * PagerDuty: the incident key. Default: the run id, so a later `event: resolve` resolves the incident this run opened.
     */
    dedup_key?: string;
    /**
     * PagerDuty: the affected system (default: this host name).
     */
    source?: string;
    /**
     * PagerDuty: the component affected (payload.component).
     */
    component?: string;
    /**
     * PagerDuty: the logical group of components (payload.group).
     */
    group?: string;
    /**
     * PagerDuty: the class or type of the event (payload.class).
     */
    class?: string;
    /**
     * PagerDuty: custom_details of a trigger. A webhook receives it as `details`.
     */
    details?: {} | ExpressionString;
    /**
     * Mail subject (default: the first line of the message).
     */
    subject?: string;
    /**
     * Mail recipients instead of the connection's `to`.
     */
    to?: string | [string, ...string[]];
    /**
     * Webhook: the exact JSON body to send instead of the default payload.
     */
    json?: {
      [k: string]: unknown;
    };
  };
  /**
   * Control step: pause for this long.
   */
  wait?: string;
  approve?: Approve;
  /**
   * Control step: fail unless every expression holds.
   */
  assert?: Expression | [Expression, ...Expression[]];
  log?: Log;
  runbook?: Runbook1;
} & Step1;
/**
 * An expression (spec §3), bare or wrapped in '${{ }}', e.g. steps.check.status == 'succeeded'.
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "expression".
 */
export type Expression = string | boolean;
/**
 * A step body that undoes this step (any type, with its own timeout/retry/when; `self` is the original step).
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "rollback".
 */
export type Rollback = {
  /**
   * Shown in the TUI and reports.
   */
  title?: string;
  /**
   * An expression (spec §3), bare or wrapped in '${{ }}', e.g. steps.check.status == 'succeeded'.
   */
  when?: string | boolean;
  /**
   * Per attempt.
   */
  timeout?: string;
  /**
   * Journal what the rollback prints up to this per stream (default: defaults.output_limit, else 1MiB).
   */
  output_limit?: number | string;
  retry?: Retry;
  /**
   * Must hold on `result`.
   */
  expect?: Expression | [Expression, ...Expression[]];
  /**
   * Needs an operator's yes before it runs.
   */
  confirm?: boolean;
  /**
   * Safe to run again when a resume finds this rollback was running when the process died.
   */
  idempotent?: boolean;
  /**
   * Run a bash script or a command; output streamed live; result exit_code, stdout, stderr, json.
   */
  shell?: {
    [k: string]: unknown;
  };
  /**
   * Run SQL on PostgreSQL (a query with bind params, or a script), optionally in a transaction; cancelled on the server on timeout.
   */
  sql?: {
    [k: string]: unknown;
  };
  /**
   * An HTTP request through undici, checked against the expected status.
   */
  http?: {
    /**
     * Name of an `http` connection (base URL, headers, TLS). Optional when `url` is absolute.
     */
    connection?: string;
    /**
     * HTTP method (default GET).
     */
    method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
    /**
     * Absolute URL, or a path appended to the connection's `base_url` (`/actuator/health`).
     */
    url: string;
    /**
     * Request headers; they override the connection's headers of the same name.
     */
    headers?:
      | {
          [k: string]: string;
        }
      | ExpressionString;
    /**
     * Query parameters added to the URL, name → value (a list repeats the parameter).
     */
    query?:
      | {
          [k: string]: (string | number | boolean) | (string | number | boolean)[];
        }
      | ExpressionString;
    /**
     * Request body sent as JSON (Content-Type: application/json). Give one of `json`, `body`, `form`.
     */
    json?: {
      [k: string]: unknown;
    };
    /**
     * Raw request body (set Content-Type in `headers`). Give one of `json`, `body`, `form`.
     */
    body?: string;
    /**
     * Request body sent URL-encoded (application/x-www-form-urlencoded). Give one of `json`, `body`, `form`.
     */
    form?:
      | {
          [k: string]: string | number | boolean;
        }
      | ExpressionString;
    /**
     * Accepted status code(s), e.g. 200 or [200, 503]. Default: any 2xx. Any other status fails the step.
     */
    expect_status?: number | [number | ExpressionString, ...(number | ExpressionString)[]] | ExpressionString;
    /**
     * Accept any TLS certificate for this request.
     */
    insecure_tls?: boolean | ExpressionString;
    /**
     * PEM file of the CA(s) for this request (relative to the runbook file).
     */
    ca_file?: string;
    /**
     * Follow redirects, up to 5 (default true).
     */
    follow_redirects?: boolean | ExpressionString;
  };
  /**
   * Object storage through the AWS SDK: put, get, list, latest, head, delete, copy.
   */
  s3?: {
    [k: string]: unknown;
  };
  /**
   * Docker Engine API: start, stop, restart, kill, inspect, logs, wait_healthy, exec, run, ps, images.
   */
  docker?: {
    [k: string]: unknown;
  };
  /**
   * A notification: a PagerDuty event, a Slack message, a webhook POST or a mail.
   */
  notify?: {
    /**
     * Name of a `slack`, `pagerduty`, `smtp` or `webhook` connection under `connections`.
     */
    connection: string;
    /**
     * The message (Slack text, mail body, webhook `text`; PagerDuty: the summary when `summary` is not given).
     */
    text?: string;
    /**
     * PagerDuty: the incident summary (up to 1024 characters). Elsewhere: the message when `text` is not given.
     */
    summary?: string;
    /**
     * PagerDuty event action (default trigger). A webhook receives it as `event`.
     */
    event?: 'trigger' | 'acknowledge' | 'resolve';
    /**
     * P0 → critical, P1 → error, P2 → warning, P3 → info (PagerDuty severities are accepted as is). Default critical for a trigger.
     */
    severity?: 'P0' | 'P1' | 'P2' | 'P3' | 'critical' | 'error' | 'warning' | 'info';
    /**
     * PagerDuty: the incident key. Default: the run id, so a later `event: resolve` resolves the incident this run opened.
     */
    dedup_key?: string;
    /**
     * PagerDuty: the affected system (default: this host name).
     */
    source?: string;
    /**
     * PagerDuty: the component affected (payload.component).
     */
    component?: string;
    /**
     * PagerDuty: the logical group of components (payload.group).
     */
    group?: string;
    /**
     * PagerDuty: the class or type of the event (payload.class).
     */
    class?: string;
    /**
     * PagerDuty: custom_details of a trigger. A webhook receives it as `details`.
     */
    details?: {} | ExpressionString;
    /**
     * Mail subject (default: the first line of the message).
     */
    subject?: string;
    /**
     * Mail recipients instead of the connection's `to`.
     */
    to?: string | [string, ...string[]];
    /**
     * Webhook: the exact JSON body to send instead of the default payload.
     */
    json?: {
      [k: string]: unknown;
    };
  };
  /**
   * Control step: pause for this long.
   */
  wait?: string;
  approve?: Approve;
  /**
   * Control step: fail unless every expression holds.
   */
  assert?: Expression | [Expression, ...Expression[]];
  log?: Log;
  runbook?: Runbook1;
} & Rollback1;
/**
 * Control step: a note in the journal and the report. It notifies nobody: use a `notify` step for that.
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "log".
 */
export type Log = string;
export type Rollback1 = {
  [k: string]: unknown;
};
export type Step1 = {
  [k: string]: unknown;
};
/**
 * A duration: 250ms, 30s, 5m, 1h30m, 2d.
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "duration".
 */
export type Duration = string;
/**
 * A size: a number of bytes, or 512KiB, 1MiB, 10MB (KiB/MiB/GiB are 1024-based, KB/MB/GB 1000-based).
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "size".
 */
export type Size = number | string;
/**
 * An expression, or a list of expressions that must all hold.
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "expressions".
 */
export type Expressions = Expression | [Expression, ...Expression[]];
/**
 * Control step: pause for this long.
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "wait".
 */
export type Wait = string;
/**
 * Control step: fail unless every expression holds.
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "assert".
 */
export type Assert = Expression | [Expression, ...Expression[]];

/**
 * A declarative disaster-recovery runbook (runbook DSL v1).
 */
export interface Runbook {
  /**
   * Id of the runbook, e.g. database-corruption.
   */
  runbook: string;
  /**
   * Human title.
   */
  title?: string;
  /**
   * What this runbook recovers from and when to use it.
   */
  description?: string;
  /**
   * Incident severity this runbook is for.
   */
  severity?: 'P0' | 'P1' | 'P2' | 'P3';
  /**
   * What its runs count as in `runbook stats` (default recovery): a recovery (MTTR, RTO, RPO), a backup, a restore test, or maintenance (counted nowhere).
   */
  kind?: 'recovery' | 'backup' | 'restore-test' | 'maintenance';
  objectives?: Objectives;
  /**
   * After a failure: auto (default) rolls back started steps, prompt asks, off does nothing.
   */
  rollback?: 'auto' | 'prompt' | 'off';
  /**
   * Name of the lock held for the whole run (default: the runbook id).
   */
  lock?: string;
  /**
   * Run parameters.
   */
  params?: {
    [k: string]: Param;
  };
  /**
   * Secrets, read from the environment or files.
   */
  secrets?: {
    [k: string]: Secret;
  };
  /**
   * An Ansible inventory (YAML or INI) for the ssh connections' `hosts`, relative to this file's folder (`--inventory FILE` wins).
   */
  inventory?: string;
  /**
   * Named connections steps refer to by `connection:`.
   */
  connections?: {
    [k: string]: Connection;
  };
  defaults?: Defaults;
  /**
   * The phases, run in order.
   *
   * @minItems 1
   */
  phases: [Phase, ...Phase[]];
  /**
   * Always run at the end of the run, after any rollback.
   */
  finally?: Step[];
  /**
   * Figures for the report, evaluated at the end (rpo in milliseconds is compared with objectives.rpo).
   */
  measure?: {
    /**
     * An expression (or a literal).
     */
    [k: string]: {
      [k: string]: unknown;
    };
  };
}
/**
 * Recovery objectives the run is measured against.
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "objectives".
 */
export interface Objectives {
  /**
   * Recovery time objective for the whole run.
   */
  rto?: string;
  /**
   * Recovery point objective (reported against `measure.rpo`).
   */
  rpo?: string;
  /**
   * When the RTO or a phase budget is passed: warn (default) or abort the run.
   */
  on_exceeded?: 'warn' | 'abort';
}
/**
 * A run parameter, set with --set name=value.
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "param".
 */
export interface Param {
  /**
   * Value type (default string). --set values are parsed to it.
   */
  type?: 'string' | 'number' | 'integer' | 'boolean' | 'duration' | 'list' | 'object';
  /**
   * Value used when the param is not set.
   */
  default?: {
    [k: string]: unknown;
  };
  /**
   * Shown in --help of the runbook and in plan.
   */
  description?: string;
  /**
   * Allowed values.
   *
   * @minItems 1
   */
  enum?: [unknown, ...unknown[]];
  /**
   * The run refuses to start without it.
   */
  required?: boolean;
  /**
   * A regular expression a string value must match.
   */
  pattern?: string;
  /**
   * list params: the type of each element; `--set a,b` and the default are both parsed to it (default: the type of the default's elements, else string).
   */
  items?: 'string' | 'number' | 'integer' | 'boolean' | 'duration';
}
/**
 * A connection: exactly one kind (postgres, s3, docker, ssh, http, slack, pagerduty, smtp, webhook).
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "connection".
 */
export interface Connection {
  /**
   * A PostgreSQL server, reached through a pool of `pg` connections shared by the run (tunnelled through an ssh connection with `via`).
   */
  postgres?: {
    /**
     * postgres://user@host:port/database (keep the password out of it: use `password` with a secret). Supports ?sslmode=disable|require|verify-ca|verify-full.
     */
    url?: ExpressionString;
    /**
     * Server host name or IP, or the directory of its unix socket (default localhost).
     */
    host?: string;
    /**
     * Server port (default 5432); a string of digits is accepted so `${{ env.PGPORT }}` works.
     */
    port?: (number | string) | ExpressionString;
    /**
     * Role to log in as.
     */
    user?: string;
    /**
     * Database to connect to (default: the user name).
     */
    database?: string;
    /**
     * Password of the role; usually `${{ secrets.<name> }}`. Never printed.
     */
    password?: string;
    /**
     * TLS: true (verify the server certificate), false (plain), or options.
     */
    ssl?:
      | boolean
      | {
          /**
           * Refuse a certificate that does not verify (default true).
           */
          reject_unauthorized?: boolean | ExpressionString;
          /**
           * PEM file of the CA to trust, relative to the runbook's folder.
           */
          ca_file?: string;
        }
      | ExpressionString;
    /**
     * Give up connecting after this long (default 10s).
     */
    connect_timeout?: ExpressionString;
    /**
     * Most connections open at once for this run (default 5).
     */
    max?: number | ExpressionString;
    /**
     * Name of an ssh connection (one host) to tunnel through: `host`/`port` are then as that host sees them (e.g. 127.0.0.1:5432, or a unix socket folder). Every client rides on the host’s one pooled ssh connection.
     */
    via?: string;
  };
  /**
   * An S3 or S3-compatible object store.
   */
  s3?: {
    /**
     * Default bucket of the steps using this connection (a step may override it with `bucket`).
     */
    bucket?: string;
    /**
     * AWS region (default: AWS_REGION / AWS_DEFAULT_REGION, else us-east-1).
     */
    region?: string;
    /**
     * Endpoint URL of an S3-compatible server, e.g. http://127.0.0.1:9000. Empty = AWS itself.
     */
    endpoint?: string;
    /**
     * Address buckets as http://host/bucket/key instead of http://bucket.host/key. Default: true with an `endpoint`, false for AWS.
     */
    force_path_style?: boolean | ExpressionString;
    /**
     * Access key id; use a secret. Without it the standard AWS credential chain is used (env, profile, instance role).
     */
    access_key_id?: string;
    /**
     * Secret access key; use a secret.
     */
    secret_access_key?: string;
    /**
     * Session token for temporary credentials; use a secret.
     */
    session_token?: string;
    /**
     * Profile of ~/.aws/credentials and ~/.aws/config to take credentials and region from.
     */
    profile?: string;
  };
  /**
   * A Docker Engine API: unix socket (`socket`) or `host` (unix://, tcp://, or ssh://user@host for the engine on that host), or `via` an ssh connection; default DOCKER_HOST, else /var/run/docker.sock.
   */
  docker?: {
    /**
     * Path of the Engine API unix socket, e.g. /var/run/docker.sock (Podman: /run/podman/podman.sock). With `host: ssh://…`, `via` or a step’s `on:`, the path on that host.
     */
    socket?: string;
    /**
     * Engine API address: unix:///path/to/docker.sock, tcp://host:2375 (plain HTTP), or ssh://user@host[:port][/path/to/socket] (the engine’s socket on that host, reached over SSH as `docker -H ssh://` does; default socket /var/run/docker.sock).
     */
    host?: string;
    /**
     * Name of an ssh connection (one host): the engine on that host, at `socket` (default /var/run/docker.sock), over its pooled connection, with its keys, known_hosts and jump host.
     */
    via?: string;
    /**
     * With `host: ssh://…` only: an OpenSSH known_hosts file holding the host's key (default ~/.ssh/known_hosts; relative to the runbook's folder).
     */
    known_hosts?: string;
    /**
     * With `host: ssh://…` only: the host key instead of known_hosts: a SHA256:… fingerprint or a public key line.
     */
    host_key?: string;
    /**
     * With `host: ssh://…` only: the private key itself, usually `${{ secrets.<name> }}`. Never journaled.
     */
    key?: string;
    /**
     * With `host: ssh://…` only: a private key file (default ~/.ssh/id_ed25519, id_ecdsa, id_rsa; relative to the runbook's folder).
     */
    key_file?: string;
    /**
     * With `host: ssh://…` only: the passphrase of the key, usually a secret.
     */
    passphrase?: string;
    /**
     * With `host: ssh://…` only: give up connecting after this long (default 10s).
     */
    connect_timeout?: ExpressionString;
    /**
     * With `host: ssh://…` only: interval of SSH keepalives; the host is declared lost after 3 unanswered ones (default 5s).
     */
    keepalive?: ExpressionString;
    /**
     * Compose project: `service:` targets are containers labelled com.docker.compose.project=<project> (and the service label).
     */
    project?: string;
    /**
     * API version to use, e.g. 1.41. Default: negotiated (the server’s, capped to the newest this client supports).
     */
    api_version?: ExpressionString;
  };
  /**
   * SSH hosts: one `host`, or `hosts` of the inventory (groups or names). Host keys are always verified; `on: <name>` runs a step on each host.
   */
  ssh?: {
    [k: string]: unknown;
  };
  /**
   * An HTTP(S) service.
   */
  http?: {
    /**
     * Base URL that relative step `url`s are appended to, e.g. http://localhost:8080/api.
     */
    base_url: string;
    /**
     * Headers sent with every request (e.g. Authorization from a secret); a step can override each.
     */
    headers?:
      | {
          [k: string]: string;
        }
      | ExpressionString;
    /**
     * Accept any TLS certificate (self-signed, expired, wrong host). For drills only.
     */
    insecure_tls?: boolean | ExpressionString;
    /**
     * PEM file of the CA(s) that sign the server certificate (relative to the runbook file).
     */
    ca_file?: string;
  };
  /**
   * A Slack incoming webhook (notify steps post their text to its channel).
   */
  slack?: {
    /**
     * The incoming webhook URL (https://hooks.slack.com/services/…). It holds a token: take it from a secret.
     */
    webhook_url: string;
  };
  /**
   * A PagerDuty service through the Events API v2 (trigger, acknowledge, resolve).
   */
  pagerduty?: {
    /**
     * The service's integration (routing) key: take it from a secret.
     */
    routing_key: string;
    /**
     * The Events API endpoint (default https://events.pagerduty.com/v2/enqueue).
     */
    url?: string;
  };
  /**
   * A mail server (SMTP through nodemailer).
   */
  smtp?: {
    /**
     * smtp://user:password@host:587 (STARTTLS when offered) or smtps://host:465. The password belongs in a secret.
     */
    url: string;
    /**
     * Sender address, e.g. "runbook <dr@example.com>".
     */
    from: string;
    /**
     * Recipient address(es).
     */
    to: string | [string, ...string[]];
  };
  /**
   * An HTTP endpoint that receives a JSON POST per notification.
   */
  webhook?: {
    /**
     * The URL the JSON payload is POSTed to.
     */
    url: string;
    /**
     * Headers sent with every notification (e.g. Authorization from a secret).
     */
    headers?:
      | {
          [k: string]: string;
        }
      | ExpressionString;
  };
}
/**
 * Defaults for every step.
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "defaults".
 */
export interface Defaults {
  /**
   * Per-attempt timeout (built-in default 5m).
   */
  timeout?: string;
  retry?: Retry;
  /**
   * What a step prints is journaled up to this per stream (built-in default 1MiB); the rest is counted in step.output_truncated.
   */
  output_limit?: number | string;
}
/**
 * Re-run the body after an error, a timeout or a failed expect.
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "retry".
 */
export interface Retry {
  /**
   * Total attempts, the first included (1 = no retry).
   */
  attempts?: number;
  /**
   * Wait before the second attempt (default 1s).
   */
  delay?: string;
  /**
   * Multiply the delay by this after each attempt (default 1).
   */
  backoff?: number;
  /**
   * Upper bound of the delay between attempts.
   */
  max_delay?: string;
}
/**
 * A phase: steps run as a graph (sequential by default), then its finally steps.
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "phase".
 */
export interface Phase {
  /**
   * Unique id of the phase.
   */
  id: string;
  /**
   * Shown in the TUI and reports.
   */
  title?: string;
  /**
   * Longer explanation.
   */
  description?: string;
  /**
   * The phase's time budget (tracked against on_exceeded).
   */
  budget?: string;
  /**
   * Guard: false → every step of the phase is skipped.
   */
  when?: string | boolean;
  /**
   * The steps of the phase.
   *
   * @minItems 1
   */
  steps: [Step, ...Step[]];
  /**
   * Always run at the end of this phase.
   */
  finally?: Step[];
}
/**
 * Repeat the body until the condition holds (`result` in scope); fails with timed_out after `within`.
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "until".
 */
export interface Until {
  /**
   * Stop repeating when this holds.
   */
  condition: string | boolean;
  /**
   * Pause between polls (default 2s).
   */
  every?: string;
  /**
   * Give up (timed_out) after this long (default: the step timeout).
   */
  within?: string;
}
/**
 * Named values computed from `result`, stored as steps.<id>.outputs.<name>.
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "outputs".
 */
export interface Outputs {
  /**
   * An expression over `result` (or a literal).
   */
  [k: string]: {
    [k: string]: unknown;
  };
}
/**
 * Control step: a human gate. Non-interactive runs need --yes, otherwise the step fails.
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "approve".
 */
export interface Approve {
  /**
   * What the operator is asked to approve.
   */
  message: string;
  /**
   * Fail the step when nobody answers within this long.
   */
  timeout?: string;
}
/**
 * Control step: run another runbook inline; its phases nest under this step and its outputs become this step's outputs.
 *
 * This interface was referenced by `Runbook`'s JSON-Schema
 * via the `definition` "runbook".
 */
export interface Runbook1 {
  /**
   * Path of the runbook file, relative to this file's folder.
   */
  file: string;
  /**
   * Params passed to the sub-runbook (values may use ${{ }}).
   */
  params?: {
    [k: string]: unknown;
  };
}
