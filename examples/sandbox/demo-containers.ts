/**
 * The demo's container scenarios (DR guide scenarios 2 and 4, and the version rollback), drilled on
 * Podman's Docker-compatible API with the blue/green "trading service" images. They run when the
 * API can be started here; otherwise the demo says which scenario it skips and why.
 */
import type { DockerScenario, DockerSandbox } from './docker-sandbox.js';
import type { RunbookRun } from './demo-cli.js';
import { ms, type Params, type Scenario } from './demo-scenarios.js';

export interface ContainerScenario extends Omit<Scenario, 'setup' | 'verdict'> {
  /** How the blue/green project starts. */
  docker: DockerScenario;
  params: Params;
  verdict(docker: DockerSandbox, run: RunbookRun): Promise<string>;
}

async function health(docker: DockerSandbox): Promise<{ status?: string; version?: string }> {
  return fetch(`${docker.env.APP_URL}/actuator/health`).then((r) => r.json() as Promise<{ status?: string; version?: string }>);
}

const rto = (run: RunbookRun, objective: string) =>
  `RTO ${ms(run.finished?.duration_ms)} vs objective ${objective} ${run.finished?.rto_met ? '✓ met' : '✗ missed'}`;

export const CONTAINER_SCENARIOS: ContainerScenario[] = [
  {
    name: 'deployment-failure',
    title: 'Scenario 2: the green release 1.5.0 is broken; blue-green rollback to 1.4.2',
    runbook: 'deployment-failure',
    sandbox: {},
    docker: 'deployment-failure',
    params: {},
    async verdict(docker, run) {
      const h = await health(docker);
      return `traffic on ${docker.live()}, health ${h.status} ${h.version} · ${rto(run, '3m')}`;
    },
  },
  {
    name: 'configuration-error',
    title: 'Scenario 4: a bad configuration push; roll the configuration back and restart',
    runbook: 'configuration-error',
    sandbox: {},
    docker: 'configuration-error',
    params: {},
    async verdict(docker, run) {
      const h = await health(docker);
      return `health ${h.status} ${h.version} · ${rto(run, '2m')}`;
    },
  },
  {
    name: 'version-rollback',
    title: 'Version rollback: run 1.4.1 in place of 1.4.2',
    runbook: 'version-rollback',
    sandbox: {},
    docker: 'healthy',
    params: { version: '1.4.1' },
    async verdict(docker, run) {
      const h = await health(docker);
      return `health ${h.status} ${h.version} · ${rto(run, '4m')}`;
    },
  },
];

export function findContainerScenario(name: string): ContainerScenario | undefined {
  return CONTAINER_SCENARIOS.find((s) => s.name === name);
}
