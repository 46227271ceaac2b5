// Compares the fast YAML path (js-yaml, src/dsl/load-fast.ts) with the reference (the `yaml`
// package) on every YAML file below the given folders: the data, where each map and list starts,
// and that the fast path never accepts a file yaml refuses. Run it after upgrading either parser.
// Usage: npx tsc -p . && node scripts/yaml-agreement.mjs [DIR...]   (default: /)
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect, isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';

const SKIP = new Set(['/proc', '/sys', '/dev', '/run']);
function* yamlFiles(dir) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (SKIP.has(path)) continue;
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (st.isDirectory()) yield* yamlFiles(path);
    else if (/\.ya?ml$/.test(name) && st.size < 2 * 1024 * 1024) yield path;
  }
}

/** Every node of a yaml document with its path and start offset, and every key (`key: true`). */
export function nodes(node, path = [], out = []) {
  const block = isScalar(node) && (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED');
  if (isMap(node) || isSeq(node) || isScalar(node)) out.push({ path, start: node.range[0], block });
  if (isMap(node)) {
    for (const p of node.items) {
      const sub = [...path, String(isScalar(p.key) ? p.key.value : p.key)];
      if (isScalar(p.key) && p.key.range) out.push({ path: sub, start: p.key.range[0], key: true });
      nodes(p.value, sub, out);
    }
  }
  if (isSeq(node)) node.items.forEach((item, i) => nodes(item, [...path, i], out));
  return out;
}

/**
 * What the fast path (`fastLoad`, passed in: the built one here, the source one in the tests) makes
 * of `text` against yaml: whether it took the text, and if so what it got wrong, if anything.
 * Compared: refusal, values, types, prototypes and key order (isDeepStrictEqual is not fooled by a
 * key named 'constructor', unlike a test framework's strict equality), and where maps and lists start.
 */
export function compareWithYaml(text, fastLoad) {
  const fast = fastLoad(text);
  if (!fast) return { taken: false };
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) return { taken: true, problem: `accepted, but yaml refuses it: ${doc.errors[0].message}` };
  const data = doc.toJS({ maxAliasCount: 1000 });
  if (!isDeepStrictEqual(fast.data, data) || JSON.stringify(fast.data) !== JSON.stringify(data)) {
    return { taken: true, problem: `different data\njs-yaml: ${inspect(fast.data, { depth: 9 })}\nyaml:    ${inspect(data, { depth: 9 })}` };
  }
  // Where nodes and keys start: a start the fast path gives must be yaml's. It may say null (not
  // known here: yaml decides), never that a node yaml has is not there.
  for (const { path, start, key } of nodes(doc.contents)) {
    const fastStart = key ? fast.keyStart(path) : fast.valueStart(path);
    const what = `${JSON.stringify(path)}${key ? ' (key)' : ''}`;
    if (fastStart === undefined) return { taken: true, problem: `${what}: the fast path has no node there` };
    if (typeof fastStart === 'number' && fastStart !== start) return { taken: true, problem: `${what} starts at ${fastStart}, yaml says ${start}` };
  }
  return { taken: true };
}

async function main() {
  const { fastLoad } = await import('../dist/src/dsl/load-fast.js');
  const count = { files: 0, taken: 0, declined: 0, disagree: 0 };
  for (const dir of process.argv.slice(2).length ? process.argv.slice(2) : ['/']) {
    for (const file of yamlFiles(dir)) {
      count.files++;
      const { taken, problem } = compareWithYaml(readFileSync(file, 'utf8'), fastLoad);
      if (taken) count.taken++;
      else count.declined++;
      if (problem) {
        count.disagree++;
        console.log(`${file}: ${problem}`);
      }
    }
  }
  console.log(count);
  process.exitCode = count.disagree ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
