// The user-facing docs must match the code: the README's example is a real, valid runbook, and the
// field reference is regenerated from the schema.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadRunbook, allDiagnostics } from '../../src/dsl/validate.js';
import { buildPlan } from '../../src/interpreter/plan.js';
import { runbookSchema } from '../../src/dsl/schema.js';
// @ts-expect-error plain ESM script without types
import { renderReference } from '../../scripts/gen-docs.mjs';

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');

describe('docs', () => {
  it("README's example is examples/readme.yaml, which validates and plans", () => {
    const block = /## A runbook\n\n```yaml\n([\s\S]*?)```/.exec(read('README.md'))?.[1];
    expect(block).toBeDefined();
    expect(block).toBe(read('examples/readme.yaml'));
    const loaded = loadRunbook(new URL('../../examples/readme.yaml', import.meta.url).pathname);
    expect(allDiagnostics(loaded)).toEqual([]);
    const plan = buildPlan(loaded.model!, { params: { unit: 'trading' }, loaded });
    expect(plan.phases.map((p) => p.steps.map((s) => s.id))).toEqual([['restart', 'healthy']]);
    expect(plan.phases[0].steps[0].rendered).toBe("systemctl restart 'trading'");
    expect(plan.phases[0].groups).toEqual([['restart'], ['healthy']]);
  });

  it('docs/reference.md is generated from the schema (run npm run gen)', () => {
    expect(read('docs/reference.md')).toBe(renderReference(runbookSchema()));
  });

  it('README gives the quick start and the test command', () => {
    const readme = read('README.md');
    expect(readme).toContain('npm ci && npm run demo');
    expect(readme).toContain('npm test');
    expect(readme).toContain('(docs/dsl.md)');
  });
});
