// `runbook validate --format github|sarif` through the real CLI: GitHub workflow annotations, and a
// SARIF 2.1.0 log that validates against the published schema (test/fixtures/sarif, see its README).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'dist/src/cli.js');
const INVALID = join(ROOT, 'test/runbooks/invalid');
const haveDist = existsSync(CLI);
if (!haveDist) {
  if (process.env.CI === 'true') throw new Error(`${CLI} is missing: build first (npx tsc -p .)`);
  console.warn(`skipping the validate --format tests: ${CLI} is missing (build with npx tsc -p .)`);
}
const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: INVALID, encoding: 'utf8' });
const FILES = ['reserved-names.yaml', 'no-rollback-warning.yaml', 'until-every-over-within.yaml'];

describe.skipIf(!haveDist)('runbook validate --format', () => {
  it('github: one ::error/::warning workflow command a diagnostic, with file, line and col; exit 2', () => {
    const r = cli(['validate', '--format', 'github', ...FILES]);
    expect(r.status).toBe(2);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain("::warning file=no-rollback-warning.yaml,line=9,col=13,title=runbook NO_ROLLBACK::step 'truncate' changes the world (sql) but has no rollback: add 'rollback:' or 'irreversible: \"<why it cannot be undone>\"'");
    expect(lines).toContain("::error file=no-rollback-warning.yaml,line=16,col=25,title=runbook UNKNOWN_STEP::unknown step 'cuont' (did you mean 'count'?)");
    expect(lines.filter((l) => l.startsWith('::error file=reserved-names.yaml,'))).toHaveLength(3);
    expect(lines.find((l) => l.includes('UNTIL_EVERY'))).toMatch(/^::error file=until-every-over-within\.yaml,line=8,col=60,title=runbook UNTIL_EVERY::step 'wait-db': until polls every 1m/);
    expect(lines.every((l) => /^::(error|warning) file=[^,]+,line=\d+,col=\d+,title=runbook [A-Z_]+::\S/.test(l))).toBe(true);
  });

  it('github: a message with a newline or % is escaped so it stays one command', () => {
    const r = cli(['validate', '--format', 'github', 'no-such-%-file.yaml']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('::error file=no-such-%25-file.yaml,title=runbook FILE::file not found\n');
  });

  it('sarif: a SARIF 2.1.0 log valid against the published JSON Schema, one result a diagnostic', () => {
    const r = cli(['validate', '--format', 'sarif', ...FILES]);
    expect(r.status).toBe(2);
    const log = JSON.parse(r.stdout);
    const schema = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/sarif/sarif-schema-2.1.0.json'), 'utf8'));
    delete schema.$schema;
    delete schema.id;
    const require = createRequire(import.meta.url);
    const Ajv = require('ajv').default;
    const addFormats = require('ajv-formats').default;
    // The schema's language pattern is not valid with the u flag (a stray ']'): compile patterns without it.
    const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    expect(validate(log), JSON.stringify(validate.errors, null, 2)).toBe(true);
    // And a schema that cannot fail is no test: a broken log is refused.
    expect(validate({ ...log, version: '2.0.0' })).toBe(false);
    expect(log.version).toBe('2.1.0');
    const results = log.runs[0].results;
    expect(results).toHaveLength(6);
    expect(results.find((x: { ruleId: string }) => x.ruleId === 'NO_ROLLBACK')).toMatchObject({
      level: 'warning',
      locations: [{ physicalLocation: { artifactLocation: { uri: 'no-rollback-warning.yaml', uriBaseId: 'SRCROOT' }, region: { startLine: 9, startColumn: 13 } } }],
    });
    const rules = log.runs[0].tool.driver.rules.map((x: { id: string }) => x.id);
    for (const x of results) expect(rules[x.ruleIndex]).toBe(x.ruleId);
  });

  it('sarif on valid files: an empty result list, exit 0', () => {
    const r = spawnSync(process.execPath, [CLI, 'validate', '--format', 'sarif', 'minimal.yaml'], { cwd: join(ROOT, 'test/runbooks/valid'), encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).runs[0].results).toEqual([]);
  });
});
