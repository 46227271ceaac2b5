/**
 * The local transport: commands run on this machine through `child_process`, each with its whole
 * process tree tracked by the kernel (`./track.ts`).
 */
import type { Transport } from '../types.js';
import { runProcess } from './process.js';

export const localTransport: Transport = {
  name: 'local',
  run: runProcess,
};

export { KILL_GRACE_MS, OUTPUT_TAIL_BYTES, PIPE_DRAIN_MS, SpawnError, killAllTrees, listTrees, runProcess } from './process.js';
export { TailBuffer } from './tail.js';
export { trackingRoot } from './track.js';
