// The editor experience, checked with the real client: yaml-language-server (the server behind VS
// Code's YAML extension and Neovim's yamlls) started over stdio, given schema/runbook.schema.json the
// way docs/editors.md says, and asked what an editor asks: completion at a step key, hover on a
// field, and diagnostics for broken runbooks, whose places must be those `runbook validate` reports.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMap, isPair, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import { assertBuilt, CLI, REPO } from '../helpers/cli.js';
import { startYamlLs, type LspCompletionItem, type LspDiagnostic, type YamlLs } from '../helpers/yaml-ls.js';
import { bodyKeys } from '../../src/dsl/schema.js';

const INVALID = join(REPO, 'test/runbooks/invalid');

let ls: YamlLs;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'runbook-editor-'));
  // As docs/editors.md tells a VS Code user: a schema path relative to the workspace folder.
  ls = await startYamlLs({ root: REPO, schemas: { './schema/runbook.schema.json': ['*.yaml'] } });
});
afterAll(async () => {
  await ls?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Opens `text` with `|` marking the cursor; returns the document's path and the cursor's LSP position. */
async function openAtCursor(name: string, marked: string): Promise<{ path: string; pos: { line: number; character: number } }> {
  const at = marked.indexOf('|');
  const text = marked.slice(0, at) + marked.slice(at + 1);
  const before = text.slice(0, at).split('\n');
  const path = join(dir, name);
  await ls.open(path, text);
  return { path, pos: { line: before.length - 1, character: before[before.length - 1].length } };
}

const labels = (items: LspCompletionItem[]) => items.map((i) => i.label);
const STEP = 'runbook: demo\nphases:\n  - id: restore\n    steps:\n';

describe('completion', () => {
  it('at a step key without a body: the common fields and every body key', async () => {
    const { path, pos } = await openAtCursor('no-body.yaml', `${STEP}      - id: a\n        |\n`);
    const got = labels(await ls.completion(path, pos));
    expect(got).toEqual(expect.arrayContaining(['timeout', 'retry', 'needs', 'rollback', ...bodyKeys()]));
    expect(got).not.toContain('id');
  });

  it('once a step has a body key, no other body key is offered', async () => {
    const { path, pos } = await openAtCursor('with-body.yaml', `${STEP}      - id: a\n        shell: { run: echo hi }\n        |\n`);
    const got = labels(await ls.completion(path, pos));
    expect(got).toEqual(expect.arrayContaining(['timeout', 'retry', 'until', 'expect', 'outputs', 'rollback', 'on_failure']));
    expect(got.filter((l) => bodyKeys().includes(l))).toEqual([]);
  });

  it('the same in a rollback', async () => {
    const marked = `${STEP}      - id: a\n        shell: { run: echo hi }\n        rollback:\n          log: undo\n          |\n`;
    const { path, pos } = await openAtCursor('rollback.yaml', marked);
    const got = labels(await ls.completion(path, pos));
    expect(got).toEqual(expect.arrayContaining(['timeout', 'when']));
    expect(got.filter((l) => bodyKeys().includes(l))).toEqual([]);
  });

  it('inside http: the fields of an http request and nothing else (no "object(runbook)")', async () => {
    const { path, pos } = await openAtCursor('http.yaml', `${STEP}      - id: a\n        http:\n          |\n`);
    const items = await ls.completion(path, pos);
    expect(labels(items)).toEqual(expect.arrayContaining(['url', 'method', 'connection', 'expect_status', 'headers']));
    // Every item is a field (CompletionItemKind.Property = 10): no skeleton item named after a type.
    expect(items.filter((i) => i.kind !== 10).map((i) => i.label)).toEqual([]);
    expect(labels(items).filter((l) => /object|runbook/.test(l))).toEqual([]);
  });

  it('once a shell body has `run`, `command` is not offered (one branch per exclusive key)', async () => {
    const { path, pos } = await openAtCursor('shell-run.yaml', `${STEP}      - id: a\n        shell:\n          run: echo hi\n          |\n`);
    const got = labels(await ls.completion(path, pos));
    expect(got).toEqual(expect.arrayContaining(['env', 'cwd', 'expect_exit']));
    expect(got).not.toContain('command');
  });

  it("documents each offered field with its type and description", async () => {
    const { path, pos } = await openAtCursor('docs.yaml', `${STEP}      - id: a\n        log: hi\n        |\n`);
    const timeout = (await ls.completion(path, pos)).find((i) => i.label === 'timeout');
    expect(timeout?.documentation).toEqual({
      kind: 'markdown',
      value: '**Type:** A duration (e.g. 250ms, 30s, 5m, 1h30m)\n\nPer attempt; the work is cancelled when it passes → timed\\_out.',
    });
  });
});

describe('hover', () => {
  const doc = `${STEP}      - id: a\n        timeout: 30s\n        retry: { attempts: 3 }\n        http:\n          url: /health\n`;
  const hoverAt = async (name: string, line: number, word: string) => {
    const path = join(dir, name);
    await ls.open(path, doc);
    const character = doc.split('\n')[line].indexOf(word) + 1;
    const h = await ls.hover(path, { line, character });
    return typeof h?.contents === 'object' ? h.contents.value : h?.contents;
  };

  it("shows the field's name, type and description, not the document's title", async () => {
    const value = await hoverAt('hover-timeout.yaml', 5, 'timeout');
    expect(value).toMatch(/^#### timeout\n\n\*\*Type:\*\* A duration \(e\.g\. 250ms, 30s, 5m, 1h30m\)\n\nPer attempt; the work is cancelled when it passes → timed\\_out\.\n\nSource: /);
  });

  it('a required field says so; a nested field is named by its own name', async () => {
    expect(await hoverAt('hover-url.yaml', 8, 'url')).toMatch(/^#### url\n\n\*\*Required:\*\* a string\n\nAbsolute URL, or a path appended/);
    expect(await hoverAt('hover-attempts.yaml', 6, 'attempts')).toMatch(/^#### attempts\n\n\*\*Type:\*\* An integer\n\nTotal attempts, the first included/);
    expect(await hoverAt('hover-id.yaml', 4, 'id')).toMatch(/^#### id\n\n\*\*Required:\*\* an id \(e\.g\. stop-app\)\n\nUnique id of the step/);
  });

  it('a body key shows what the step type does', async () => {
    expect(await hoverAt('hover-http.yaml', 7, 'http')).toMatch(/^#### http\n\n\*\*Type:\*\* A map\n\nAn HTTP request/);
  });
});

/**
 * Where yaml-language-server and `runbook validate` put the same problem. Lines and columns: LSP's
 * are 0-based, validate's 1-based; that is the one systematic offset, added here (+1 to both). And
 * yaml-language-server reports a missing key of a map that is a field's value on the field's key
 * (`s3:`), where validate points at the map itself (`{ connection: … }`): moved here to the value.
 */
function normalised(d: LspDiagnostic, text: string): string {
  const lc = new LineCounter();
  const docu = parseDocument(text, { lineCounter: lc });
  const offsetOf = (line: number, character: number) => (line === 0 ? 0 : lc.lineStarts[line]) + character;
  let at = offsetOf(d.range.start.line, d.range.start.character);
  if (/^Missing property/.test(d.message)) {
    visit(docu, {
      Pair(_, pair) {
        if (isPair(pair) && isScalar(pair.key) && pair.key.range?.[0] === at && isMap(pair.value) && pair.value.range) at = pair.value.range[0];
      },
    });
  }
  const { line, col } = lc.linePos(at);
  return `${line}:${col}`;
}

describe('diagnostics agree with runbook validate', () => {
  // One of each kind of schema error: a duration, an id, an enum, an unknown key, a type, a missing
  // key in a body, a second body, a number out of range.
  const files = [
    'bad-duration-words.yaml',
    'bad-id-uppercase.yaml',
    'bad-enum-on-failure.yaml',
    'unknown-step-key.yaml',
    'wrong-type-attempts.yaml',
    's3-put-missing-key.yaml',
    'step-two-bodies.yaml',
    'http-status-out-of-range.yaml',
  ];
  let validated: Map<string, string[]>;
  beforeAll(() => {
    assertBuilt();
    let out: string;
    try {
      out = execFileSync(process.execPath, [CLI, 'validate', '--json', ...files.map((f) => join(INVALID, f))], { encoding: 'utf8' });
    } catch (e) {
      out = (e as { stdout: string }).stdout; // exit 2: the files are invalid, as they should be
    }
    const report = JSON.parse(out) as { files: { file: string; errors: { line: number; col: number }[] }[] };
    validated = new Map(report.files.map((f) => [f.file.split('/').pop()!, f.errors.map((e) => `${e.line}:${e.col}`)]));
  });

  it.each(files)('%s', async (name) => {
    const path = join(INVALID, name);
    const text = readFileSync(path, 'utf8');
    const diagnostics = await ls.open(path, text);
    const expected = validated.get(name);
    expect(expected?.length, `runbook validate reported nothing for ${name}`).toBeGreaterThan(0);
    const places = [...new Set(diagnostics.map((d) => normalised(d, text)))].sort();
    expect(places, diagnostics.map((d) => `${d.range.start.line}:${d.range.start.character} ${d.message}`).join('\n')).toEqual([...new Set(expected)].sort());
  });

  it('says what a duration and an id look like, not the regex', async () => {
    const duration = await ls.open(join(INVALID, 'bad-duration-words.yaml'), readFileSync(join(INVALID, 'bad-duration-words.yaml'), 'utf8') + '\n');
    expect(duration.map((d) => d.message)).toEqual(['Expected a duration: use e.g. 250ms, 30s, 5m, 1h30m.']);
    const id = await ls.open(join(INVALID, 'bad-id-uppercase.yaml'), readFileSync(join(INVALID, 'bad-id-uppercase.yaml'), 'utf8') + '\n');
    expect(id.map((d) => d.message)).toEqual(["Expected an id: lowercase letters, digits and _, words joined by '-', starting with a letter."]);
  });

  it('the modeline form works too: a file no setting maps, with `# yaml-language-server: $schema=…` first', async () => {
    const path = join(REPO, 'runbooks/not-mapped-by-settings.runbook');
    const text = '# yaml-language-server: $schema=../schema/runbook.schema.json\nrunbook: modeline\nphases:\n  - id: p\n    steps:\n      - id: a\n        wait: 5 minutes\n';
    const diagnostics = await ls.open(path, text);
    expect(diagnostics.map((d) => [d.range.start.line, d.range.start.character, d.message])).toEqual([[6, 14, 'Expected a duration: use e.g. 250ms, 30s, 5m, 1h30m.']]);
  });

  it('a valid runbook of the repository has no diagnostics', async () => {
    const path = join(REPO, 'runbooks/database-corruption.yaml');
    expect(await ls.open(path, readFileSync(path, 'utf8'))).toEqual([]);
  });
});
