/**
 * Instance addresses (spec §8): the one place that turns a step (and its item, host and parent) into
 * the string every event's `step` field holds. The journal, resume, the views and the reports key on
 * these strings and never build them by hand.
 *
 *   plain step            restore
 *   for_each item         restart-each[1]
 *   host of a fan-out     restart[web-2]
 *   sub-runbook step      restart-each[1].healthy
 *   sub-runbook phase     restart-each[1]/check
 */

/** The address of step `id` at top level (`parent` undefined) or inside the sub-runbook run by the instance `parent`. */
export function stepAddress(parent: string | undefined, id: string): string {
  return parent ? `${parent}.${id}` : id;
}

/** The address of one instance of a step: its for_each index or its host name. */
export function instanceAddress(step: string, key: number | string): string {
  return `${step}[${key}]`;
}

/** The address of phase `id` at top level or inside the sub-runbook run by the instance `parent`. */
export function phaseAddress(parent: string | undefined, id: string): string {
  return parent ? `${parent}/${id}` : id;
}

/** The step an instance belongs to: `restart-each[1]` → `restart-each`; a plain address is its own step. */
export function baseAddress(address: string): string {
  return address.endsWith(']') ? address.slice(0, address.lastIndexOf('[')) : address;
}

/** The key of an instance address (`[1]` → 1, `[web-2]` → 'web-2'), or undefined for a plain address. */
export function instanceKey(address: string): number | string | undefined {
  if (!address.endsWith(']')) return undefined;
  const key = address.slice(address.lastIndexOf('[') + 1, -1);
  return /^(0|[1-9]\d*)$/.test(key) ? Number(key) : key;
}

/**
 * The step ids along an address, outermost first, instance keys dropped:
 * `each[1].s2` → ['each', 's2']; a host key may hold dots (`restart[web-2.lan].check` → ['restart', 'check']).
 */
export function stepPath(address: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (const ch of address) {
    if (ch === '[') depth++;
    else if (ch === ']') depth--;
    else if (depth === 0 && ch === '.') {
      out.push(cur);
      cur = '';
    } else if (depth === 0) cur += ch;
  }
  out.push(cur);
  return out;
}

/** The instance address of the runbook step a sub-runbook address lives in (`each[1].s2` → `each[1]`), or undefined at top level. */
export function parentAddress(address: string): string | undefined {
  let depth = 0;
  for (let i = address.length - 1; i >= 0; i--) {
    const ch = address[i];
    if (ch === ']') depth++;
    else if (ch === '[') depth--;
    else if (depth === 0 && (ch === '.' || ch === '/')) return address.slice(0, i);
  }
  return undefined;
}
