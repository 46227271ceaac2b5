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

/** Every map and list of a yaml document with its path and start offset. */
export function collections(node, path = [], out = []) {
  if (isMap(node) || isSeq(node)) out.push([path, node.range[0]]);
  if (isMap(node)) for (const p of node.items) collections(p.value, [...path, String(isScalar(p.key) ? p.key.value : p.key)], out);
  if (isSeq(node)) node.items.forEach((item, i) => collections(item, [...path, i], out));
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
  for (const [path, start] of collections(doc.contents)) {
    const fastStart = fast.collectionStart(path);
    if (fastStart !== undefined && fastStart !== start) return { taken: true, problem: `${JSON.stringify(path)} starts at ${fastStart}, yaml says ${start}` };
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
