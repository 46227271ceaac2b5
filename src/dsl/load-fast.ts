/**
 * The fast way to a runbook's data: js-yaml, about five times quicker than the `yaml` package on a
 * cold start (50–70 ms against 250–300 ms for a 1,000-step file, most of `runbook validate`'s time).
 *
 * The `yaml` package stays the reference. It gives the positions of scalars and keys (parsed only
 * when a diagnostic needs one; where maps and lists start comes from here), and it decides every
 * file this path declines: anything whose data could differ between the two parsers or that only
 * `yaml` reports in its own words. That is a file js-yaml refuses, directives (`%YAML 1.1` changes
 * the schema), tags, anchors and aliases (and so alias bombs), keys that are null, collections or very long, and anything
 * but exactly one document. Both parsers pass the YAML test suite and resolve plain scalars with the
 * YAML 1.2 core schema; test/dsl/load-fast.test.ts checks that they agree on every YAML file in the
 * repository and on generated documents of every scalar and collection style.
 */
import { COLLECTION_STYLE, CORE_SCHEMA, EVENT_ID, SCALAR_STYLE, constructFromEvents, getScalarValue, parseEvents, type Event } from 'js-yaml';

/** What the fast path read: the data, and where its nodes and keys start (built on first use). */
export interface FastFile {
  data: unknown;
  /**
   * Offset of the node at `path`, as the `yaml` package's `range[0]`: undefined when there is no node
   * there, null when there is one whose start this path does not vouch for (a block scalar, whose
   * range the two parsers start at different places).
   */
  valueStart(path: ReadonlyArray<string | number>): number | null | undefined;
  /** Offset of the key of the map entry at `path` (its last element a key), as yaml's key `range[0]`; null as for valueStart. */
  keyStart(path: ReadonlyArray<string | number>): number | null | undefined;
}

/** The file's data when the fast path can vouch for it, else undefined (the `yaml` package decides). */
export function fastLoad(source: string): FastFile | undefined {
  if (!plainText(source)) return undefined;
  let events: Event[];
  try {
    events = parseEvents(source, {});
  } catch {
    return undefined;
  }
  if (!plainSingleDocument(events, source)) return undefined;
  let data: unknown;
  try {
    data = constructFromEvents(events, { source, schema: CORE_SCHEMA, maxAliases: 0 })[0];
  } catch {
    return undefined;
  }
  // The events are kept until the first position is asked for, then only the index of starts.
  let pending: Event[] | undefined = events;
  let index: Starts | undefined;
  const starts = () => {
    if (!index) {
      index = nodeStarts(pending!, source);
      pending = undefined;
    }
    return index;
  };
  // Below a map with a key the path cannot name (see nodeStarts), nothing is vouched for.
  const opaque = (path: ReadonlyArray<string | number>) => {
    const o = starts().opaque;
    if (o.size) for (let len = 0; len < path.length; len++) if (o.has(pathKey(path.slice(0, len)))) return true;
    return false;
  };
  return {
    data,
    valueStart: (path) => (opaque(path) ? null : starts().values.get(pathKey(path))),
    keyStart: (path) => (opaque(path) ? null : starts().keys.get(pathKey(path))),
  };
}

const pathKey = (path: ReadonlyArray<string | number>) => path.map((p) => `\0${p}`).join('');

interface Starts {
  values: Map<string, number | null>;
  keys: Map<string, number | null>;
  /** Maps with a plain key that the core schema may read as a number, a boolean or null. */
  opaque: Set<string>;
}

/**
 * Start offset of every node and every key by path: what a diagnostic's `file:line:col` needs,
 * without parsing the file again. A scalar starts at its opening quote, or at its first character
 * when plain (as in yaml); a block scalar is recorded as null (yaml starts it at its `|` or `>`
 * header, which the events do not give), and so is an empty one. A plain key that may not be a
 * string (`1`, `0x1F`, `true`) has a name in the data that its text does not give: its map is
 * opaque, and yaml answers for everything in it.
 */
function nodeStarts(events: Event[], source: string): Starts {
  const values = new Map<string, number | null>();
  const keys = new Map<string, number | null>();
  const opaque = new Set<string>();
  const open: Array<{ map: boolean; nodes: number; path: string; key?: string; keyStart?: number | null }> = [];
  for (const e of events) {
    if (e.type === EVENT_ID.DOCUMENT) continue;
    if (e.type === EVENT_ID.POP) {
      open.pop();
      continue;
    }
    const parent = open[open.length - 1];
    let path = '';
    if (parent?.map) {
      // Keys are scalars here (plainSingleDocument declines collection keys).
      if (parent.nodes++ % 2 === 0) {
        parent.key = e.type === EVENT_ID.SCALAR ? getScalarValue(source, e) : undefined;
        if (e.type === EVENT_ID.SCALAR && e.style === SCALAR_STYLE.PLAIN && MAYBE_NOT_STRING.test(parent.key!)) opaque.add(parent.path);
        parent.keyStart = e.type === EVENT_ID.SCALAR ? scalarStart(e) : undefined;
        continue;
      }
      path = `${parent.path}\0${parent.key}`;
      if (parent.keyStart !== undefined) keys.set(path, parent.keyStart);
    } else if (parent) {
      path = `${parent.path}\0${parent.nodes++}`;
    }
    if (e.type === EVENT_ID.MAPPING || e.type === EVENT_ID.SEQUENCE) {
      values.set(path, e.start);
      open.push({ map: e.type === EVENT_ID.MAPPING, nodes: 0, path });
    } else if (e.type === EVENT_ID.SCALAR) {
      values.set(path, scalarStart(e));
    }
  }
  return { values, keys, opaque };
}

/** Plain text the YAML 1.2 core schema may resolve to something else than a string. */
const MAYBE_NOT_STRING = /^(?:[-+.\d~]|(?:true|True|TRUE|false|False|FALSE|null|Null|NULL)$)/;

/** Where yaml's range of a scalar starts, or null for a block scalar (see nodeStarts). */
function scalarStart(e: Extract<Event, { type: typeof EVENT_ID.SCALAR }>): number | null {
  if (e.style === SCALAR_STYLE.PLAIN) return e.valueStart >= 0 && e.valueEnd > e.valueStart ? e.valueStart : null;
  if (e.style === SCALAR_STYLE.SINGLE_QUOTED || e.style === SCALAR_STYLE.DOUBLE_QUOTED) return e.valueStart - 1;
  return null;
}

/**
 * Text where the two parsers' rules on what is valid YAML agree: no tab anywhere (yaml refuses tabs
 * as indentation in places js-yaml lets pass) and no document marker but a `---` opening the file.
 */
function plainText(source: string): boolean {
  if (source.includes('\t')) return false;
  // Anything that looks like a marker, even indented or inside a value (js-yaml takes an indented
  // `---` for one); a declined file just takes the slower path.
  const marker = /(?:^|\s)(?:---|\.\.\.)(?=\s|$)/g;
  for (let m = marker.exec(source); m; m = marker.exec(source)) if (m.index !== 0 || m[0] !== '---') return false;
  return true;
}

/**
 * One document whose root is a map, with no directive, tag, anchor or alias, and keys that are
 * plain to both parsers: YAML whose data both build the same way. A key the core schema reads as
 * null is `''` to `yaml` and `'null'` to js-yaml; a collection as a key has no agreed string form;
 * yaml refuses an implicit key over 1,024 characters. Every key of a block map must also start in
 * the map's column: js-yaml reads text glued after a flow collection (`- [a]b: c`) as a key of an
 * outer map, where yaml sees an error.
 */
function plainSingleDocument(events: Event[], source: string): boolean {
  let documents = 0;
  let rootIsMap = false;
  // Per open collection: whether it is a map, how many nodes it has had (keys are the even ones),
  // and for a block map the column its keys start in.
  const open: Array<{ map: boolean; nodes: number; keyColumn?: number }> = [];
  for (const e of events) {
    if (e.type === EVENT_ID.DOCUMENT) {
      if (++documents > 1 || e.directives.length) return false;
      continue;
    }
    if (e.type === EVENT_ID.POP) {
      open.pop();
      continue;
    }
    // Anchors go with aliases: alone they mean nothing, and yaml refuses some places js-yaml takes.
    if (e.type === EVENT_ID.ALIAS || e.tagStart >= 0 || e.anchorStart >= 0) return false;
    const parent = open[open.length - 1];
    if (!parent) rootIsMap = e.type === EVENT_ID.MAPPING;
    const isKey = parent?.map === true && parent.nodes++ % 2 === 0;
    if (e.type !== EVENT_ID.SCALAR) {
      if (isKey) return false;
      const block = e.type === EVENT_ID.MAPPING && e.style === COLLECTION_STYLE.BLOCK;
      open.push({ map: e.type === EVENT_ID.MAPPING, nodes: 0, keyColumn: block ? column(source, e.start) : undefined });
      continue;
    }
    if (!isKey) continue;
    if (e.style === SCALAR_STYLE.PLAIN && NULL.test(source.slice(e.valueStart, e.valueEnd))) return false;
    if (e.valueEnd - e.valueStart > LONG_KEY) return false;
    if (parent.keyColumn !== undefined) {
      const quoted = e.style === SCALAR_STYLE.SINGLE_QUOTED || e.style === SCALAR_STYLE.DOUBLE_QUOTED;
      if (e.style !== SCALAR_STYLE.PLAIN && !quoted) return false;
      if (column(source, e.valueStart - (quoted ? 1 : 0)) !== parent.keyColumn) return false;
    }
  }
  return documents === 1 && rootIsMap;
}

const column = (source: string, offset: number) => offset - (source.lastIndexOf('\n', offset - 1) + 1);

const LONG_KEY = 1000;

/** The YAML 1.2 core schema's null. */
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
