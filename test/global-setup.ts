/**
 * Vitest's global setup: what the suite leaves in the kernel's cgroup tree is removed at its end.
 * A test that kills a runner with SIGKILL (cli-lock, attach, the shared store's takeovers) leaves that
 * run's cgroup folders behind, as a real crash does until `runbook resume`; the processes in them are
 * stopped by the tests themselves, the empty folders by this teardown (the tool's own `cleanUpRun`,
 * which removes only empty groups), for the runs that appeared while the suite ran.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cleanUpRun, trackingRoot } from '../src/transport/local/track.js';

function runFolders(root: string): string[] {
  try {
    return readdirSync(join(root, 'runs'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
}

export default function setup(): () => void {
  const root = trackingRoot();
  const before = new Set(root ? runFolders(root) : []);
  return () => {
    if (!root) return;
    for (const name of runFolders(root)) if (!before.has(name)) cleanUpRun(root, decodeURIComponent(name));
  };
}
