/**
 * JSON Schemas of the `docker` connection and step body. The body is flat: `action` picks which
 * fields are required (`if {action: const} then {required}`), so ajv names the missing field.
 */
import type { JsonSchema } from '../../dsl/json-schema.js';
import { DURATION_PATTERN } from '../../dsl/duration.js';

export type DockerAction =
  | 'start'
  | 'stop'
  | 'restart'
  | 'kill'
  | 'inspect'
  | 'logs'
  | 'wait_healthy'
  | 'exec'
  | 'run'
  | 'ps'
  | 'images';

export const DOCKER_ACTIONS: DockerAction[] = [
  'start', 'stop', 'restart', 'kill', 'inspect', 'logs', 'wait_healthy', 'exec', 'run', 'ps', 'images',
];

/** Actions that act on `container:` or `service:`. */
export const TARGETED_ACTIONS: DockerAction[] = ['start', 'stop', 'restart', 'kill', 'inspect', 'logs', 'wait_healthy', 'exec'];

export interface DockerBody {
  connection: string;
  action: DockerAction;
  container?: string;
  service?: string;
  grace?: string | number;
  signal?: string;
  tail?: number | 'all';
  cmd?: string | string[];
  env?: Record<string, string | number | boolean>;
  workdir?: string;
  user?: string;
  expect_exit?: number | number[];
  image?: string;
  name?: string;
  labels?: Record<string, string>;
  remove?: boolean;
  detach?: boolean;
  network_mode?: string;
  filters?: Record<string, string | string[]>;
  all?: boolean;
  reference?: string;
}

const text = (description: string) => ({ type: 'string', minLength: 1, description });

const requires = (action: DockerAction, then: JsonSchema): JsonSchema => ({
  if: { properties: { action: { const: action } }, required: ['action'] },
  then,
});

const oneTarget: JsonSchema = {
  oneOf: [
    { required: ['container'], not: { required: ['service'] } },
    { required: ['service'], not: { required: ['container'] } },
  ],
  description: 'Name exactly one target: `container` or `service`.',
};

const sshText = (description: string) => text(`With \`host: ssh://…\` only: ${description}`);

export const dockerConnectionSchema: JsonSchema = {
  type: 'object',
  description:
    'A Docker Engine API (Docker, or Podman’s Docker-compatible service): here, on one SSH host (`host: ssh://…` or `via`), or — for a step with `on:` — on each of its hosts. Default: DOCKER_HOST, else /var/run/docker.sock.',
  additionalProperties: false,
  properties: {
    socket: text(
      'Path of the Engine API unix socket, e.g. /var/run/docker.sock (Podman: /run/podman/podman.sock). With `host: ssh://…`, `via` or a step’s `on:`, the path on that host.',
    ),
    host: text(
      'Engine API address: unix:///path/to/docker.sock, tcp://host:2375 (plain HTTP), or ssh://user@host[:port][/path/to/socket] (the engine’s socket on that host, reached over SSH as `docker -H ssh://` does; default socket /var/run/docker.sock).',
    ),
    via: text(
      'Name of an ssh connection (one host): the engine on that host, at `socket` (default /var/run/docker.sock), over its pooled connection, with its keys, known_hosts and jump host.',
    ),
    known_hosts: sshText("an OpenSSH known_hosts file holding the host's key (default ~/.ssh/known_hosts; relative to the runbook's folder)."),
    host_key: sshText('the host key instead of known_hosts: a SHA256:… fingerprint or a public key line.'),
    key: sshText('the private key itself, usually `${{ secrets.<name> }}`. Never journaled.'),
    key_file: sshText("a private key file (default ~/.ssh/id_ed25519, id_ecdsa, id_rsa; relative to the runbook's folder)."),
    passphrase: sshText('the passphrase of the key, usually a secret.'),
    connect_timeout: { type: 'string', pattern: DURATION_PATTERN, description: 'With `host: ssh://…` only: give up connecting after this long (default 10s).' },
    keepalive: { type: 'string', pattern: DURATION_PATTERN, description: 'With `host: ssh://…` only: interval of SSH keepalives; the host is declared lost after 3 unanswered ones (default 5s).' },
    project: text(
      'Compose project: `service:` targets are containers labelled com.docker.compose.project=<project> (and the service label).',
    ),
    api_version: {
      type: 'string',
      pattern: '^v?1\\.\\d+$',
      errorMessage: 'Expected an Engine API version, e.g. 1.41 or v1.41.',
      description: 'API version to use, e.g. 1.41. Default: negotiated (the server’s, capped to the newest this client supports).',
    },
  },
  // key with key_file, ssh fields without ssh://: src/dsl/check-remote-connections.ts (clearer words than a schema's).
  not: { required: ['via', 'host'] },
};

export const dockerBodySchema: JsonSchema = {
  type: 'object',
  description: 'A Docker Engine API operation on a container or a compose service: start, stop, logs, exec, run, wait until healthy, …',
  additionalProperties: false,
  required: ['connection', 'action'],
  properties: {
    connection: text('Name of a `docker` connection under `connections`.'),
    action: {
      enum: DOCKER_ACTIONS,
      description:
        'start | stop (grace) | restart (grace) | kill (signal) | inspect | logs (tail) | wait_healthy (health status, or running ' +
        'without a healthcheck; the step timeout is the deadline) | exec (cmd) | run (image, cmd; waits for exit unless detach) | ' +
        'ps (filters, all) | images (reference).',
    },
    container: text('Target container, by name or id.'),
    service: text(
      'Target compose service: every container labelled com.docker.compose.service=<service> (within the connection’s project).',
    ),
    grace: {
      description: 'stop/restart: how long the container may take to exit after SIGTERM before it is killed, e.g. 10s (default: the container’s own, usually 10s).',
      anyOf: [
        { type: 'string', pattern: DURATION_PATTERN },
        { type: 'integer', minimum: 0 },
      ],
    },
    signal: text('kill: signal to send, e.g. SIGTERM or SIGHUP (default SIGKILL).'),
    tail: {
      description: 'logs: number of lines from the end (default 100), or "all".',
      anyOf: [{ type: 'integer', minimum: 0 }, { const: 'all' }],
    },
    cmd: {
      description: 'exec/run: the command, as an argv list, or a string run with `sh -c` (values interpolated into the string reach it as environment variables, never as shell text). run: default = the image’s CMD.',
      anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string' }, minItems: 1 }],
    },
    env: {
      type: 'object',
      description: 'exec/run: environment variables to set.',
      additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
    },
    workdir: text('exec/run: working directory inside the container.'),
    user: text('exec/run: user (name or uid[:gid]) to run the command as.'),
    expect_exit: {
      description: 'exec/run: exit codes that count as success (default [0]); any other fails the step.',
      anyOf: [{ type: 'integer' }, { type: 'array', items: { type: 'integer' }, minItems: 1 }],
    },
    image: text('run: image to create the container from, e.g. busybox:latest (must be present).'),
    name: text('run: name of the new container.'),
    labels: {
      type: 'object',
      description: 'run: labels of the new container (e.g. com.docker.compose.service to make it part of a service).',
      additionalProperties: { type: 'string' },
    },
    remove: { type: 'boolean', description: 'run: remove the container once it exited and its output was read (default true).' },
    detach: {
      type: 'boolean',
      description: 'run: start the container and return without waiting for it to exit (default false; `remove` is then ignored).',
    },
    network_mode: text('run: network mode (default host: no container networking needed).'),
    filters: {
      type: 'object',
      description: 'ps/images: Engine API filters, e.g. {status: running, label: ["app=web"]}.',
      additionalProperties: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    },
    all: { type: 'boolean', description: 'ps: include stopped containers (default false: running only).' },
    reference: text('images: image reference pattern, e.g. postgres or registry/app:1.*'),
  },
  allOf: [
    ...TARGETED_ACTIONS.map((action) => requires(action, oneTarget)),
    requires('exec', { required: ['cmd'] }),
    requires('run', { required: ['image'], not: { anyOf: [{ required: ['container'] }, { required: ['service'] }] } }),
    requires('images', { not: { anyOf: [{ required: ['container'] }, { required: ['service'] }] } }),
  ],
};
