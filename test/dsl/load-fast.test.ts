// The fast path (js-yaml) against the reference (the `yaml` package): wherever the fast path gives
// data, it is exactly the data `yaml` gives, and it never accepts what `yaml` refuses. Checked on every
// YAML file in the repository, on hand-picked corners of the YAML spec, and on generated documents of
// every scalar and collection style. Also: validating a valid runbook never parses the `yaml` document.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Document, isCollection, isNode, LineCounter, parseDocument, visit, type Scalar } from 'yaml';
import { describe, expect, it } from 'vitest';
import { fastLoad } from '../../src/dsl/load-fast.js';
import { loadRunbook, allDiagnostics } from '../../src/dsl/validate.js';
import { SourceFile } from '../../src/dsl/load.js';
import { yamlFiles } from '../helpers/files.js';
import { compareWithYaml, nodes } from '../../scripts/yaml-agreement.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The fast path agrees with the reference, or declines; returns whether it took the text. */
function agrees(text: string): boolean {
  const { taken, problem } = compareWithYaml(text, fastLoad);
  if (problem) expect.fail(`${problem}\nin:\n${text}`);
  return taken;
}

const repoFiles = ['runbooks', 'examples', 'test', 'schema', '.ci'].flatMap((d) => yamlFiles(join(ROOT, d))).map((f) => relative(ROOT, f)).sort();
// The runbooks the project ships (runbooks/inventory/ holds an Ansible inventory, not a runbook).
const shipped = repoFiles.filter((f) => f.startsWith('runbooks/') && !f.startsWith('runbooks/inventory/'));

describe('fast YAML path', () => {
  it('agrees with yaml on every YAML file in the repository, and takes every shipped runbook', () => {
    expect(repoFiles.length).toBeGreaterThan(100);
    const taken = repoFiles.filter((f) => agrees(readFileSync(join(ROOT, f), 'utf8')));
    // The broken files of the golden folder are declined (yaml reports them in its own words);
    // every runbook the project ships is read by the fast path.
    expect(shipped.filter((f) => !taken.includes(f))).toEqual([]);
    expect(taken.length).toBeGreaterThan(repoFiles.length / 2);
  });

  const corners: Record<string, string> = {
    'YAML 1.1 booleans stay strings': 'a: yes\nb: No\nc: on\nd: OFF\ne: y\nf: True\ng: FALSE\n',
    'core numbers': 'a: 0o17\nb: 0x1F\nc: +12\nd: -0\ne: 1e3\nf: 1.\ng: .5\nh: -.inf\ni: .NaN\nj: 1_000\nk: 017\nl: 0b11\nm: 1:30\nn: 12e\n',
    'nulls': 'a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: nul\ng: "~"\n',
    'timestamps stay strings': 'a: 2024-01-01\nb: 2024-01-01T10:00:00Z\n',
    'merge key is a plain key': 'a: {<<: {b: 1}, c: 2}\n',
    'literal block scalars': 'keep: |+\n  a\n\n\nstrip: |-\n  a\n  b\nclip: |\n    indented\n     more\n    back\nind: |2\n    two more\nlast: |\n  x\n\n',
    'folded block scalars': 'f: >\n  one\n  two\n\n  three\n    more indented\n  back\ng: >-\n  x\n  y\n',
    'multi-line plain and quoted': 'p: one\n  two\n\n  three\nd: "a\\tb \\u00e9\\x41\n  next \\\n  joined"\ns: \'it\'\'s\n  folded\'\n',
    'comments everywhere': '# head\na: 1 # trailing\n# between\nb: # before value\n  - x # item\n  # inside\n  - y\nc: "q" #q\n',
    'flow across lines': 'a: [1,\n  two, {k: v,\n  n: [x]},\n  ]\nb: {a: 1, b: , c}\n',
    'compact nested': 'a:\n- - x\n  - y\n- k: v\n  j: w\n-\n  - z\n',
    'byte order mark': '\ufeffa: 1\n',
    'empty values': 'a:\nb: []\nc: {}\nd: ""\ne: \'\'\n',
    'strings that look special': 'a: "123"\nb: \'true\'\nc: "null"\nd: a:b\ne: -x\nf: x#y\ng: "#"\nh: \'${{ x }}\'\ni: ${{ steps.a.outputs.b }}\n',
    'keys of other types': '1: a\ntrue: b\n1.5: d\n0x1F: e\n.inf: f\n1e3: g\n"null": h\n',
    'unicode and escapes': 'a: "\\U0001F600 \\N \\_ \\L"\nb: ünïcødé\nc: "\\0\\a\\e"\n',
    'long lines folded by indentation': 'script: >\n  SELECT 1\n  FROM t\n\n    WHERE x\n  AND y\n',
    'windows line ends': 'a: 1\r\nb: |\r\n  x\r\n  y\r\nc: "p\r\n  q"\r\n',
  };
  it.each(Object.entries(corners))('agrees with yaml: %s', (_name, text) => {
    expect(agrees(text)).toBe(true);
  });

  const declined: Record<string, string> = {
    'a directive': '%YAML 1.1\n---\na: yes\n',
    'a tag': 'a: !!str 1\n',
    'a local tag': 'a: !env HOME\n',
    'an alias': 'a: &x {b: 1}\nc: *x\n',
    'an alias bomb': 'a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\n',
    'two documents': 'a: 1\n---\nb: 2\n',
    'an empty file': '',
    'a comment only': '# nothing\n',
    'a duplicate key': 'a: 1\na: 2\n',
    'a tab indent': 'a:\n\tb: 1\n',
    // Found by the random soups below (CI, seed -1585038804): js-yaml keeps this BOM in the key, yaml drops it.
    'a byte order mark after the start': '\n\ufeffk2: v\n',
    'an unclosed quote': 'a: "open\nb: 1\n',
    'explicit keys (yaml reads them the same, but not worth the risk)': '? a\n: 1\n? |\n  block key\n: 2\n',
    'a document end marker': '---\na: 1\n...\n',
    'a bad indent': 'a:\n  b: 1\n c: 2\n',
    'a null key': 'null: a\n',
    'an empty key': ': a\n',
    'a tilde key in a flow map': '{~: a}\n',
    'a collection key': '? [a, b]\n: c\n',
    'a block scalar ending the map too early': 'clip: |\n    indented\n  less: no\n',
  };
  it.each(Object.entries(declined))('leaves to yaml: %s', (_name, text) => {
    expect(fastLoad(text)).toBeUndefined();
  });

  it('agrees with yaml on generated documents of every style', () => {
    let runs = 0;
    let taken = 0;
    const scalar = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.string({ unit: fc.constantFrom('a', ' ', '\n', '#', ':', '-', '"', "'", '\\', '{', '}', '[', ']', ',', '$', '!', '&', '*', '|', '>', '%', '@', '`', '\t', 'é'), maxLength: 20 }),
      fc.integer(),
      fc.double({ noNaN: true }).filter((n) => !Object.is(n, -0)),
      fc.boolean(),
      fc.constant(null),
    );
    const key = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_-]{0,12}$/), fc.string({ minLength: 1, maxLength: 12 }));
    const value = fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(key, tie('v'), { maxKeys: 4 })),
    })).v;
    const options = fc.record({
      collectionStyle: fc.constantFrom('any', 'block', 'flow') as fc.Arbitrary<'any' | 'block' | 'flow'>,
      defaultStringType: fc.constantFrom('PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE', 'BLOCK_LITERAL', 'BLOCK_FOLDED') as fc.Arbitrary<Scalar.Type>,
      defaultKeyType: fc.constantFrom(null, 'PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE') as fc.Arbitrary<Scalar.Type | null>,
      lineWidth: fc.integer({ min: 20, max: 80 }),
      indent: fc.integer({ min: 2, max: 4 }),
      indentSeq: fc.boolean(),
      comments: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.dictionary(key, value, { minKeys: 1, maxKeys: 6 }), options, (data, { comments, ...opts }) => {
        runs++;
        const doc = new Document(data);
        if (comments) {
          let n = 0;
          visit(doc, (_k, node) => {
            if (isNode(node) && n++ % 3 === 0) {
              if (isCollection(node)) node.commentBefore = ` note ${n}`;
              else node.comment = ` c${n}: #x`;
            }
          });
        }
        // Declining is always safe (yaml then decides); accepting must agree.
        if (agrees(doc.toString(opts))) taken++;
      }),
      { numRuns: 1500 },
    );
    // Declined: tabs, `---`/`...` and long keys inside the generated strings, explicit keys, and the
    // odd document yaml writes but neither parser reads back. Most still take the fast path.
    expect(taken / runs).toBeGreaterThan(0.7);
  });

  it('never accepts what yaml refuses, on random soups of YAML syntax', () => {
    // Found this way: js-yaml takes tabs yaml refuses, an indented `---` as a marker, anchors and
    // text glued after a flow collection (`- [a]b: c`); load-fast.ts declines each of them now.
    const pieces = ['a', 'key', ': ', ':', '- ', '-', '\n', '\n  ', '\n    ', ' ', '[', ']', '{', '}', ', ', '"', "'", ' #', '| ', '|\n', '>\n',
      '? ', '&x ', '*x', '!t ', '1', '0x1', 'null', '~', '\t', '...', '---', '\\', '"a\\nb"', "'it''s'", 'true', 'k'.repeat(1030),
      'k2: v\n', ' : ', '\n- ', '\n  k: ', '{a: 1}', '[a, b]', '>-\n  ', '\r\n', '\ufeff', '@', '`'];
    const prefixes = ['', '---\n', '--- ', 'k:\n', 'k: ', 'k:\n  j:\n    ', 'k:\n- ', 'a: 1\nk:\n  '];
    fc.assert(
      fc.property(fc.constantFrom(...prefixes), fc.array(fc.constantFrom(...pieces), { maxLength: 25 }), (prefix, parts) => {
        agrees(prefix + parts.join(''));
      }),
      { numRuns: 3000 },
    );
  });

  it('knows where every step, scalar and key of a shipped runbook starts, as yaml does', () => {
    for (const f of shipped) {
      const text = readFileSync(join(ROOT, f), 'utf8');
      const fast = fastLoad(text)!;
      const all = nodes(parseDocument(text).contents);
      const steps = all.filter(({ path, key }) => !key && path.length === 4 && path[0] === 'phases' && path[2] === 'steps');
      expect(steps.length, f).toBeGreaterThan(0);
      // Every map, list, scalar and key but block scalars: a warning about a shipped runbook never
      // needs the yaml document.
      for (const { path, start, key, block } of all) {
        if (!block) expect(key ? fast.keyStart(path) : fast.valueStart(path), `${f} ${path.join('.')}${key ? ' (key)' : ''}`).toBe(start);
      }
    }
  });

  it("points a diagnostic where yaml's document would, below missing keys and indexes too", () => {
    // What SourceFile.pos asks the fast path: the key or node at a path, else its nearest existing
    // ancestor's. The reference walks yaml's document up from the whole path.
    const yamlNearest = (src: SourceFile, path: (string | number)[], key: boolean) => {
      for (let len = path.length; len >= 0; len--) {
        const sub = path.slice(0, len);
        if (key && len === path.length && len > 0 && src.keyOffset(sub) !== undefined) return src.keyOffset(sub);
        const start = src.node(sub)?.range?.[0];
        if (start !== undefined) return start;
      }
      return undefined;
    };
    let asked = 0;
    for (const f of repoFiles) {
      const text = readFileSync(join(ROOT, f), 'utf8');
      const fast = fastLoad(text);
      if (!fast) continue;
      const src = new SourceFile(f, text);
      for (const { path } of nodes(parseDocument(text).contents)) {
        for (const p of [path, [...path, 'no-such-key'], [...path, 99], [...path, 'no-such-key', 0]]) {
          for (const key of [false, true]) {
            const got = fast.nearestStart(p, key);
            if (got === null) continue; // not vouched for: pos asks yaml
            asked++;
            expect(got, `${f} ${p.join('.')}${key ? ' (key)' : ''}`).toBe(yamlNearest(src, p, key));
          }
        }
      }
    }
    expect(asked).toBeGreaterThan(10_000);
  });

  it('counts lines and columns as yaml does', () => {
    for (const text of ['a: 1\nb: 2\n', 'a: 1\r\nb:\r\n  - x\r\n', '\n\nx: "multi\n  line"\n', 'no newline', '']) {
      const lc = new LineCounter();
      parseDocument(text, { lineCounter: lc });
      const src = new SourceFile('t.yaml', text);
      for (let offset = 0; offset <= text.length; offset++) expect(src.at(offset), `${JSON.stringify(text)} @${offset}`).toMatchObject(lc.linePos(offset));
    }
  });

  it('never parses the yaml document to validate a valid runbook', () => {
    for (const f of shipped) {
      const loaded = loadRunbook(join(ROOT, f));
      expect(allDiagnostics(loaded)).toEqual([]);
      expect(loaded.src!.parsedDocument, f).toBe(false);
      // Nor to say where its steps are, which plan and run print.
      for (const s of loaded.model!.steps.values()) expect(s.where).toMatch(/:\d+:\d+$/);
      expect(loaded.src!.parsedDocument, f).toBe(false);
    }
  });

  it("a step's where is its own position, read once, and an own enumerable property before and after", () => {
    const dir = mkdtempSync(join(tmpdir(), 'runbook-where-'));
    try {
      const file = join(dir, 'w.yaml');
      writeFileSync(file, 'runbook: w\nphases:\n  - id: p\n    steps:\n      - id: a\n        log: one\n      -   id: b\n          log: two\n    finally:\n      - { id: c, log: three }\n');
      const model = loadRunbook(file).model!;
      const [a, b, c] = ['a', 'b', 'c'].map((id) => model.steps.get(id)!);
      expect(Object.keys(a)).toContain('where');
      // Read through an object made from the model, first: it is the step's own position still.
      expect(Object.create(b).where).toBe(`${file}:7:11`);
      expect({ ...a }.where).toBe(`${file}:5:9`);
      expect(c.where).toBe(`${file}:10:9`);
      for (const s of [a, b, c]) {
        expect(Object.getOwnPropertyDescriptor(s, 'where')).toMatchObject({ value: s.where, enumerable: true });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('still points diagnostics at the right place after the fast path', () => {
    const loaded = loadRunbook(join(ROOT, 'test/dsl/fixtures/fast-path-error.yaml'));
    const [d] = allDiagnostics(loaded);
    // The key's position comes from the fast path's events: the yaml document is not parsed.
    expect(loaded.src!.parsedDocument).toBe(false);
    expect(d).toMatchObject({ code: 'UNKNOWN_KEY', line: 7, col: 9 });
    expect(d.message).toContain("unknown key 'tiemout'");
  });
});
