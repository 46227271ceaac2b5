/**
 * The built-in step types and connection kinds. Adding a type: write `src/steps/<type>/index.ts` (a folder per type)
 * implementing `StepType` (and its `ConnectionKind` if it talks to something), then list it here.
 */
import type { ConnectionKind, StepType } from './types.js';
import { shellStep } from './shell/index.js';
import { postgresConnection, sqlStep } from './sql/index.js';
import { httpConnection, httpStep } from './http/index.js';
import { s3Connection, s3Step } from './s3/index.js';
import { dockerConnection, dockerStep } from './docker/index.js';
import { sshConnection } from './ssh/index.js';
import { notifyStep, pagerdutyConnection, slackConnection, smtpConnection, webhookConnection } from './notify/index.js';

export const stepTypes: StepType<any>[] = [shellStep, sqlStep, httpStep, s3Step, dockerStep, notifyStep];

export const connectionKinds: ConnectionKind<any, any>[] = [
  postgresConnection,
  s3Connection,
  dockerConnection,
  sshConnection,
  httpConnection,
  slackConnection,
  pagerdutyConnection,
  smtpConnection,
  webhookConnection,
];

const byName = new Map(stepTypes.map((t) => [t.name, t]));
export function stepType(name: string): StepType<any> | undefined {
  return byName.get(name);
}

export function connectionKind(name: string): ConnectionKind<any, any> | undefined {
  return connectionKinds.find((k) => k.name === name);
}
