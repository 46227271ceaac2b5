/**
 * What the operator is asked to approve (`--step`, `confirm: true`): the decision request carries the
 * step's whole body, resolved, secrets masked — not plan's one line cut at ~70 columns.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRunbook } from '../../src/dsl/validate.js';
import type { RunbookModel } from '../../src/dsl/model.js';
import type { LoadedRunbook } from '../../src/dsl/validate.js';
import { Runner } from '../../src/interpreter/run.js';
import type { DecisionRequest, Decider } from '../../src/interpreter/decisions.js';

const SECRET = 'tok-3Jq9-secret';
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'runbook-prompt-body-'));
  writeFileSync(
    join(dir, 'rb.yaml'),
    `runbook: prompt-body
secrets:
  tok: { env: PROMPT_BODY_TOKEN }
phases:
  - id: main
    steps:
      - id: freeze
        confirm: true
        shell:
          run: |
            echo "freezing accounts in region eu-west-1 that were last seen more than thirty days ago, with token"
            echo \${{ secrets.tok }} > /dev/null
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prompt bodies', () => {
  it('--step and confirm requests carry the whole resolved body with secrets masked', async () => {
    const asked: DecisionRequest[] = [];
    const decider: Decider = {
      interactive: true,
      user: 'alice',
      async decide(req) {
        asked.push(req);
        return req.kind === 'step' ? { kind: 'step', action: 'run' } : { kind: 'confirm', approved: true };
      },
    };
    const loaded = loadRunbook(join(dir, 'rb.yaml')) as LoadedRunbook & { model: RunbookModel };
    const runner = new Runner({ loaded, params: {}, secrets: { tok: SECRET }, stateDir: join(dir, 'state'), decider, stepMode: true, env: { ...process.env, PROMPT_BODY_TOKEN: SECRET } });
    const result = await runner.run();
    expect(result.status).toBe('succeeded');
    expect(asked.map((r) => r.kind)).toEqual(['step', 'confirm']);
    const [step, confirm] = asked as [Extract<DecisionRequest, { kind: 'step' }>, Extract<DecisionRequest, { kind: 'confirm' }>];
    for (const body of [step.body, confirm.body]) {
      expect(body).toContain('echo "freezing accounts in region eu-west-1 that were last seen more than thirty days ago, with token"');
      expect(body!.startsWith('shell:\n  run: |')).toBe(true);
      expect(body).not.toContain(SECRET);
    }
    expect(JSON.stringify(asked)).not.toContain(SECRET);
  });
});
