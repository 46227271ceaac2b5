/**
 * Where a `docker` connection points. Light (no undici), so the connection kind can describe itself
 * for `plan` without loading the client.
 */

export interface DockerConnectionConfig {
  socket?: string;
  host?: string;
  project?: string;
  api_version?: string;
}

// `${{ env.X }}` of an unset variable resolves to ''; treat it as "not given".
const given = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/** Where the connection points: `socket`, `host`, DOCKER_HOST, else the default socket. */
export function resolveDockerHost(config: DockerConnectionConfig, env: NodeJS.ProcessEnv): string {
  const socket = given(config.socket);
  if (socket !== undefined) return `unix://${socket}`;
  return given(config.host) ?? given(env.DOCKER_HOST) ?? 'unix:///var/run/docker.sock';
}
