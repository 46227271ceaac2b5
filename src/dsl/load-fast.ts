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
  /**
   * What a diagnostic at `path` points at: the start of its key (with `key`) or of its node, else of
   * the nearest node above it that exists; null where that is not vouched for. The same answer as
   * asking keyStart and valueStart from the whole path up to the root, in one descent.
   */
  nearestStart(path: ReadonlyArray<string | number>, key: boolean): number | null | undefined;
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
  const ends = plainSingleDocument(events, source);
  if (!ends) return undefined;
  let data: unknown;
  try {
    data = constructFromEvents(events, { source, schema: CORE_SCHEMA, maxAliases: 0 })[0];
  } catch {
    return undefined;
  }
  // Positions are looked up in the events themselves, when a diagnostic asks: no index of every
  // node is built (most runs ask for a handful), only where each collection's events end (noted by
  // plainSingleDocument's pass) and, for the collections a lookup passes through, their children.
  // What each collection holds, indexed on its first visit: a map's entries by key (and whether a
  // key may not be a string), a sequence's items.
  const children = new Map<number, { entries?: Map<string, { at: number; keyAt: number }>; items?: number[]; opaque?: boolean }>();
  const childrenOf = (at: number) => {
    let c = children.get(at);
    if (c) return c;
    const skip = (i: number) => (isCollection(events[i]) ? ends[i] : i) + 1;
    if (events[at].type === EVENT_ID.MAPPING) {
      // A repeated key's last entry is the one js-yaml keeps.
      const entries = new Map<string, { at: number; keyAt: number }>();
      let opaque = false;
      for (let k = at + 1; events[k].type !== EVENT_ID.POP; k = skip(k + 1)) {
        const key = events[k] as ScalarEvent;
        const text = getScalarValue(source, key);
        if (key.style === SCALAR_STYLE.PLAIN && MAYBE_NOT_STRING.test(text)) opaque = true;
        entries.set(text, { at: k + 1, keyAt: k });
      }
      c = { entries, opaque };
    } else {
      const items: number[] = [];
      for (let k = at + 1; events[k].type !== EVENT_ID.POP; k = skip(k)) items.push(k);
      c = { items };
    }
    children.set(at, c);
    return c;
  };
  /**
   * The events of the nodes from the root down `path`, as far as it exists (for an entry of a map,
   * with its key's event), and from which length of `path` on it runs below a map with a key the
   * path cannot name: nothing there is vouched for. See nodeStart for what is vouched for.
   */
  const descend = (path: ReadonlyArray<string | number>) => {
    const nodes: Array<{ at: number; keyAt?: number }> = [{ at: events[0].type === EVENT_ID.DOCUMENT ? 1 : 0 }];
    let opaqueFrom = Infinity;
    for (const p of path) {
      const at = nodes[nodes.length - 1].at;
      if (!isCollection(events[at])) break;
      const c = childrenOf(at);
      if (c.opaque) {
        opaqueFrom = nodes.length;
        break;
      }
      const next = c.entries ? c.entries.get(String(p)) : typeof p === 'number' && p in c.items! ? { at: c.items![p] } : undefined;
      if (!next) break;
      nodes.push(next);
    }
    return { nodes, opaqueFrom };
  };
  const startOf = (at: number | undefined) => (at === undefined ? undefined : nodeStart(events[at]));
  const exact = (path: ReadonlyArray<string | number>, key: boolean) => {
    const { nodes, opaqueFrom } = descend(path);
    // Below an opaque map even a missing node is "cannot tell": its key may be spelt another way.
    if (opaqueFrom <= path.length) return null;
    if (nodes.length <= path.length) return undefined;
    const n = nodes[path.length];
    return startOf(key ? n.keyAt : n.at);
  };
  return {
    data,
    valueStart: (path) => exact(path, false),
    keyStart: (path) => exact(path, true),
    nearestStart: (path, key) => {
      const { nodes, opaqueFrom } = descend(path);
      if (opaqueFrom <= path.length) return null;
      const deepest = nodes[nodes.length - 1];
      if (key && path.length > 0 && nodes.length > path.length && deepest.keyAt !== undefined) return startOf(deepest.keyAt);
      return startOf(deepest.at);
    },
  };
}

type ScalarEvent = Extract<Event, { type: typeof EVENT_ID.SCALAR }>;
const isCollection = (e: Event) => e.type === EVENT_ID.MAPPING || e.type === EVENT_ID.SEQUENCE;

/**
 * Where a node starts, as yaml's `range[0]`: a collection at its first character, a scalar at its
 * opening quote or (plain) its first character. A block scalar is null, as yaml starts it at its
 * `|` or `>` header, which the events do not give, and so is an empty one. A map with a plain key
 * that may not be a string (`1`, `0x1F`, `true`) has a name in the data that its text does not give:
 * it is opaque (descend), and yaml answers for everything in it.
 */
function nodeStart(e: Event): number | null | undefined {
  if (e.type === EVENT_ID.MAPPING || e.type === EVENT_ID.SEQUENCE) return e.start;
  if (e.type === EVENT_ID.SCALAR) return scalarStart(e);
  return undefined;
}

/** Plain text the YAML 1.2 core schema may resolve to something else than a string. */
const MAYBE_NOT_STRING = /^(?:[-+.\d~]|(?:true|True|TRUE|false|False|FALSE|null|Null|NULL)$)/;

/** Where yaml's range of a scalar starts, or null for a block scalar (see nodeStart). */
function scalarStart(e: ScalarEvent): number | null {
  if (e.style === SCALAR_STYLE.PLAIN) return e.valueStart >= 0 && e.valueEnd > e.valueStart ? e.valueStart : null;
  if (e.style === SCALAR_STYLE.SINGLE_QUOTED || e.style === SCALAR_STYLE.DOUBLE_QUOTED) return e.valueStart - 1;
  return null;
}

/**
 * Text where the two parsers' rules on what is valid YAML agree: no tab anywhere (yaml refuses tabs
 * as indentation in places js-yaml lets pass), no byte order mark but one opening the file (yaml
 * drops one at the start of a later line, js-yaml keeps it in the key: `\n\ufeffk: v`), and no
 * document marker but a `---` opening the file.
 */
function plainText(source: string): boolean {
  if (source.includes('\t') || source.indexOf('\ufeff', 1) !== -1) return false;
  // Anything that looks like a marker, even indented or inside a value (js-yaml takes an indented
  // `---` for one); a declined file just takes the slower path.
  // Most runbooks hold neither: two substring searches spare the regex its walk over every position.
  if (!source.includes('---') && !source.includes('...')) return true;
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
 * outer map, where yaml sees an error. Returns, when it is, where each collection's events end
 * (noted on the way, for the position lookups); undefined when it is not.
 */
function plainSingleDocument(events: Event[], source: string): Int32Array | undefined {
  let documents = 0;
  let rootIsMap = false;
  // For each collection's event, the index of the event that closes it (what positions skip by).
  const ends = new Int32Array(events.length);
  // Per open collection: its event, whether it is a map, how many nodes it has had (keys are the
  // even ones), and for a block map the column its keys start in.
  const open: Array<{ at: number; map: boolean; nodes: number; keyColumn?: number }> = [];
  // An index loop: this runs once per event (60,000 for a 1,000-step file) in code not yet compiled,
  // where for…of allocates an iterator result per element.
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.type === EVENT_ID.DOCUMENT) {
      if (++documents > 1 || e.directives.length) return undefined;
      continue;
    }
    if (e.type === EVENT_ID.POP) {
      // The document's own POP closes no collection.
      const closed = open.pop();
      if (closed) ends[closed.at] = i;
      continue;
    }
    // Anchors go with aliases: alone they mean nothing, and yaml refuses some places js-yaml takes.
    if (e.type === EVENT_ID.ALIAS || e.tagStart >= 0 || e.anchorStart >= 0) return undefined;
    const parent = open[open.length - 1];
    if (!parent) rootIsMap = e.type === EVENT_ID.MAPPING;
    const isKey = parent?.map === true && parent.nodes++ % 2 === 0;
    if (e.type !== EVENT_ID.SCALAR) {
      if (isKey) return undefined;
      const block = e.type === EVENT_ID.MAPPING && e.style === COLLECTION_STYLE.BLOCK;
      open.push({ at: i, map: e.type === EVENT_ID.MAPPING, nodes: 0, keyColumn: block ? column(source, e.start) : undefined });
      continue;
    }
    if (!isKey) continue;
    if (e.style === SCALAR_STYLE.PLAIN && isNullText(source, e.valueStart, e.valueEnd)) return undefined;
    if (e.valueEnd - e.valueStart > LONG_KEY) return undefined;
    if (parent.keyColumn !== undefined) {
      const quoted = e.style === SCALAR_STYLE.SINGLE_QUOTED || e.style === SCALAR_STYLE.DOUBLE_QUOTED;
      if (e.style !== SCALAR_STYLE.PLAIN && !quoted) return undefined;
      if (column(source, e.valueStart - (quoted ? 1 : 0)) !== parent.keyColumn) return undefined;
    }
  }
  return documents === 1 && rootIsMap ? ends : undefined;
}

const column = (source: string, offset: number) => offset - (source.lastIndexOf('\n', offset - 1) + 1);

const LONG_KEY = 1000;

/** Whether source[start, end) is the YAML 1.2 core schema's null (`~`, `null`, `Null`, `NULL` or nothing), without copying it out. */
function isNullText(source: string, start: number, end: number): boolean {
  const n = end - start;
  if (n <= 0) return true;
  if (n === 1) return source.charCodeAt(start) === 0x7e;
  return n === 4 && (source.startsWith('null', start) || source.startsWith('Null', start) || source.startsWith('NULL', start));
}
