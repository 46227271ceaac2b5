/**
 * Instance addresses (spec §8, `interpreter/address.ts`) read as a tree, for the views: a for_each
 * item `restart-each[1]` hangs under its step `restart-each`, a sub-runbook step
 * `restart-each[1].healthy` under the instance that runs the sub-runbook. Reads addresses; never builds one.
 */
import { baseAddress } from './address.js';

/**
 * The row an address is drawn under: an item's step (`x[1]` → `x`), a sub-runbook step's
 * runbook-step instance (`x[1].healthy` → `x[1]`); undefined at top level. Dots inside `[…]` (a host
 * name such as `db.example.com`) are part of the key, not a nesting.
 */
export function treeParent(address: string): string | undefined {
  if (address.endsWith(']')) return baseAddress(address);
  let depth = 0;
  for (let i = address.length - 1; i > 0; i--) {
    const c = address[i];
    if (c === ']') depth++;
    else if (c === '[') depth--;
    else if (c === '.' && depth === 0) return address.slice(0, i);
  }
  return undefined;
}

/** How many rows down an address is drawn: 0 for a top-level step, +1 per item and per sub-runbook. */
export function treeDepth(address: string): number {
  let depth = 0;
  for (let p = treeParent(address); p !== undefined; p = treeParent(p)) depth++;
  return depth;
}
