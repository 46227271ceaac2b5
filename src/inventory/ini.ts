/**
 * Ansible's INI inventory: hosts before any section are ungrouped; `[group]` lists hosts with
 * inline `key=value` vars (read as literals: numbers, booleans, quoted strings), `[group:vars]`
 * holds group vars (strings, as Ansible reads them), `[group:children]` lists child groups.
 */
import { addHost, emptyInventory, expandHostPattern, groupOf, InventoryError, type Inventory } from './types.js';

/** Splits `a=1 b="x y" c='z'` into words, keeping quotes inside a word. */
function words(line: string, file: string, no: number): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  for (const ch of line) {
    if (quote) {
      cur += ch;
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur += ch;
    } else if (ch === ' ' || ch === '\t') {
      if (cur) out.push(cur);
      cur = '';
    } else if (ch === '#' && cur === '') break;
    else cur += ch;
  }
  if (quote) throw new InventoryError(`unclosed ${quote} quote`, file, no);
  if (cur) out.push(cur);
  return out;
}

const unquote = (v: string): string | undefined =>
  v.length >= 2 && (v[0] === '"' || v[0] === "'") && v.at(-1) === v[0] ? v.slice(1, -1) : undefined;

/** A host-line value, as Ansible reads it (Python literals): quoted → text, numbers, True/False. */
function literal(v: string): unknown {
  const q = unquote(v);
  if (q !== undefined) return q;
  if (/^-?\d+$/.test(v)) return Number(v);
  if (/^-?\d+\.\d+$/.test(v)) return Number(v);
  if (v === 'True' || v === 'true') return true;
  if (v === 'False' || v === 'false') return false;
  return v;
}

function keyValue(word: string, file: string, no: number): [string, string] {
  const eq = word.indexOf('=');
  if (eq <= 0) throw new InventoryError(`expected key=value, got '${word}'`, file, no);
  return [word.slice(0, eq), word.slice(eq + 1)];
}

export function parseIniInventory(text: string, file: string): Inventory {
  const inv = emptyInventory(file);
  let section: { group: string; kind: 'hosts' | 'vars' | 'children' } = { group: 'ungrouped', kind: 'hosts' };
  text.split(/\r?\n/).forEach((raw, i) => {
    const no = i + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const sec = /^\[([^\]:]+)(?::(vars|children))?\]$/.exec(line);
    if (sec) {
      section = { group: sec[1].trim(), kind: (sec[2] as 'vars' | 'children' | undefined) ?? 'hosts' };
      groupOf(inv, section.group);
      return;
    }
    if (line.startsWith('[')) throw new InventoryError(`bad section header ${line} (use [group], [group:vars] or [group:children])`, file, no);
    const g = groupOf(inv, section.group);
    if (section.kind === 'vars') {
      const eq = line.indexOf('=');
      if (eq <= 0) throw new InventoryError(`expected key=value in [${section.group}:vars], got '${line}'`, file, no);
      const value = line.slice(eq + 1).trim();
      g.vars[line.slice(0, eq).trim()] = unquote(value) ?? value;
      return;
    }
    const [first, ...rest] = words(line, file, no);
    if (section.kind === 'children') {
      if (rest.length) throw new InventoryError(`[${section.group}:children] lists group names only, got '${line}'`, file, no);
      if (!g.children.includes(first)) g.children.push(first);
      groupOf(inv, first);
      return;
    }
    const vars: Record<string, unknown> = {};
    for (const w of rest) {
      const [k, v] = keyValue(w, file, no);
      vars[k] = literal(v);
    }
    for (const h of expandHostPattern(first)) {
      addHost(inv, h, vars);
      if (!g.hosts.includes(h)) g.hosts.push(h);
    }
  });
  return inv;
}
