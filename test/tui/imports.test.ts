import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every module specifier `file` imports, statically or dynamically, and recursively its relative ones. */
function collectImports(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  // comments may mention modules (`await import('./tui/index.js')`) without importing them
  const src = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  for (const m of src.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
    const spec = m[1];
    if (spec.startsWith('.')) {
      const base = resolve(dirname(file), spec).replace(/\.js$/, '');
      collectImports(existsSync(`${base}.ts`) ? `${base}.ts` : `${base}.tsx`, seen);
    }
    else seen.add(spec);
  }
  return seen;
}

describe('what plain runs load', () => {
  it.each(['src/tui/plain.ts', 'src/tui/state.ts', 'src/tui/store.ts', 'src/tui/keys.ts', 'src/tui/decider.ts', 'src/tui/views.ts'])('%s never reaches ink or react', (file) => {
    const all = [...collectImports(resolve(root, file))];
    expect(all.filter((s) => /^(ink|react)(\/|$)/.test(s))).toEqual([]);
    expect(all.length).toBeGreaterThan(1);
  });

  it('src/tui/index.ts is what loads ink', () => {
    expect([...collectImports(resolve(root, 'src/tui/index.ts'))]).toContain('ink');
  });
});
