import { randomBytes } from 'node:crypto';

/** `20261126T043012Z-database-corruption-3f9a`: sortable by time, readable, unique. */
export function newRunId(runbookId: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${runbookId}-${randomBytes(2).toString('hex')}`;
}
