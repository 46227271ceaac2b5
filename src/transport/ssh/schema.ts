/** JSON Schema of the `ssh` connection kind (spec §9). */
import type { JsonSchema } from '../../dsl/json-schema.js';
import { DURATION_PATTERN } from '../../dsl/duration.js';

const text = (description: string) => ({ type: 'string', description });
const duration = (description: string) => ({ type: 'string', pattern: DURATION_PATTERN, description });

export interface SshConnectionConfig {
  host?: string;
  hosts?: string | string[];
  port?: number | string;
  user?: string;
  key?: string;
  key_file?: string;
  passphrase?: string;
  known_hosts?: string;
  host_key?: string;
  via?: string;
  connect_timeout?: string;
  keepalive?: string;
  max_sessions?: number;
}

export const sshConnectionSchema: JsonSchema = {
  type: 'object',
  description: 'SSH hosts: one `host`, or `hosts` (inventory groups or host names). Host keys are always verified.',
  additionalProperties: false,
  properties: {
    host: text('One host: a name or address (an inventory host name picks up its ansible_host/port/user and vars).'),
    hosts: {
      description: 'Inventory group(s) or host name(s): every host they stand for.',
      oneOf: [
        { type: 'string', minLength: 1, description: 'A group or host name of the inventory.' },
        { type: 'array', minItems: 1, items: { type: 'string', minLength: 1, description: 'A group or host name.' }, description: 'Groups or host names.' },
      ],
    },
    port: { type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 1, maximum: 65535, description: 'Port (default 22; the inventory’s ansible_port wins).' },
    user: text('User to log in as (the inventory’s ansible_user wins; default: the local user).'),
    key: text('The private key itself (OpenSSH or PEM), usually `${{ secrets.<name> }}`. Never journaled.'),
    key_file: text("Private key file (`~` is your home; relative to the runbook's folder). Default: the first of ~/.ssh/id_ed25519, id_ecdsa, id_rsa that exists (an ssh-agent is not used)."),
    passphrase: text('Passphrase of the key, usually a secret.'),
    known_hosts: text("An OpenSSH known_hosts file (default ~/.ssh/known_hosts; relative to the runbook's folder)."),
    host_key: text('The host key instead of known_hosts: a SHA256:… fingerprint (as `ssh-keygen -lf` prints it) or a public key line.'),
    via: text('Name of another ssh connection (one host) used as a jump host.'),
    connect_timeout: duration('Give up connecting (and logging in) after this long (default 10s).'),
    keepalive: duration('Interval of SSH keepalives; the host is declared lost after 3 unanswered ones (default 5s).'),
    max_sessions: { type: 'integer', minimum: 1, maximum: 1000, description: "Commands at once on one connection (the server's MaxSessions, default 10); more wait their turn." },
  },
  oneOf: [
    { required: ['host'], not: { required: ['hosts'] }, description: 'One host.' },
    { required: ['hosts'], not: { required: ['host'] }, description: 'Hosts of the inventory.' },
  ],
  not: { required: ['key', 'key_file'] },
};
