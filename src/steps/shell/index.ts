/**
 * The `shell` step type (spec §2): a bash script (`run`, as `bash -eo pipefail -c`) or an argv list
 * (`command`, no shell), in its own process group, output streamed live and kept to the last 1 MiB.
 */
import type { StepType } from '../types.js';
import { quoteShellWord } from './quote.js';

export type ShellBody = {
  run?: string;
  command?: string[];
  env?: Record<string, string | number | boolean>;
  cwd?: string;
  stdin?: string;
  expect_exit?: number | number[];
  detach?: boolean;
};

const RENDER_WIDTH = 72;

const exitCode = { type: 'integer', minimum: 0, maximum: 255 };

const schema = {
  type: 'object',
  description: 'Run a bash script (`run`) or a program with arguments (`command`) in its own process group.',
  additionalProperties: false,
  properties: {
    run: {
      type: 'string',
      minLength: 1,
      description: 'A bash script, run as `bash -eo pipefail -c <script>`. Interpolated values reach it as environment variables, never as shell text (inside single quotes or a quoted heredoc they are a validation error).',
    },
    command: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', description: 'One argument, passed literally (no shell).' },
      description: 'The program and its arguments, run without a shell.',
    },
    env: {
      type: 'object',
      description: "Variables added to the interpreter's environment for this step.",
      additionalProperties: { type: ['string', 'number', 'boolean'], description: 'The value (numbers and booleans are turned into text).' },
    },
    cwd: { type: 'string', description: "Working directory; relative to the runbook file's folder (the default)." },
    stdin: { type: 'string', description: 'Text written to the standard input (otherwise stdin is empty).' },
    detach: {
      type: 'boolean',
      description:
        'For a step that starts a service on purpose: processes still running when the script ends are left running (their pids in step.finished.detached) instead of being stopped. A timeout or abort still stops them.',
    },
    expect_exit: {
      description: 'Exit code(s) that count as success (default [0]).',
      oneOf: [
        { ...exitCode, description: 'The one exit code that counts as success.' },
        { type: 'array', minItems: 1, items: { ...exitCode, description: 'An exit code that counts as success.' }, description: 'Exit codes that count as success.' },
      ],
    },
  },
  oneOf: [
    { required: ['run'], not: { required: ['command'] }, description: 'A bash script.' },
    { required: ['command'], not: { required: ['run'] }, description: 'An argv list.' },
  ],
};

export const shellStep: StepType = {
  name: 'shell',
  description: 'Run a bash script or a command; output streamed live; result exit_code, stdout, stderr, json.',
  schema,
  sideEffects: true,
  shellQuoted: ['run'],
  render: (body) => renderShell(body as ShellBody),
  // The transports (processes, cgroups, ssh) load with the first shell step that runs: validate and
  // plan never need them (docs/startup.md).
  execute: async (body, ctx) => (await import('./execute.js')).executeShell(body as ShellBody, ctx),
};

/** The script's first line, or the argv shell-quoted, cut with `…` when long. */
export function renderShell(body: ShellBody): string {
  if (typeof body.run === 'string') {
    const lines = body.run.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    const first = lines[0] ?? '';
    return cut(first, lines.length > 1);
  }
  if (Array.isArray(body.command)) return cut(body.command.map((a) => quoteShellWord(String(a))).join(' '), false);
  return '';
}

function cut(text: string, more: boolean): string {
  if (text.length > RENDER_WIDTH) return `${text.slice(0, RENDER_WIDTH - 1)}…`;
  return more ? `${text} …` : text;
}

