/**
 * The fast way to a runbook's data: js-yaml, about five times quicker than the `yaml` package on a
 * cold start (50–70 ms against 250–300 ms for a 1,000-step file, most of `runbook validate`'s time).
 *
 * The `yaml` package stays the reference. It gives the positions of scalars and keys (parsed only
 * when a diagnostic needs one; where maps and lists start comes from here), and it decides every
 * file this path declines: anything whose data could differ between the two parsers or that only
 * `yaml` reports in its own words. That is a file js-yaml refuses, directives (`%YAML 1.1` changes
 * the schema), tags, aliases (and so alias bombs), keys that are null or collections, and anything
 * but exactly one document. Both parsers pass the YAML test suite and resolve plain scalars with the
 * YAML 1.2 core schema; test/dsl/load-fast.test.ts checks that they agree on every YAML file in the
 * repository and on generated documents of every scalar and collection style.
 */
import { CORE_SCHEMA, EVENT_ID, SCALAR_STYLE, constructFromEvents, getScalarValue, parseEvents, type Event } from 'js-yaml';

/** What the fast path read: the data, and where each map and list starts (built on first use). */
export interface FastFile {
  data: unknown;
  /** Offset of the map or list at `path`, as the `yaml` package's `range[0]`; undefined if none there. */
  collectionStart(path: ReadonlyArray<string | number>): number | undefined;
}

/** The file's data when the fast path can vouch for it, else undefined (the `yaml` package decides). */
export function fastLoad(source: string): FastFile | undefined {
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
  let starts: Map<string, number> | undefined;
  return {
    data,
    collectionStart(path) {
      if (!starts) {
        starts = collectionStarts(pending!, source);
        pending = undefined;
      }
      return starts.get(pathKey(path));
    },
  };
}

const pathKey = (path: ReadonlyArray<string | number>) => path.map((p) => `\0${p}`).join('');

/**
 * Start offset of every map and list by path: what a step's `file:line:col` needs, without parsing
 * the file again. Anchored collections are left out (where `yaml` starts those is its own business).
 */
function collectionStarts(events: Event[], source: string): Map<string, number> {
  const starts = new Map<string, number>();
  const open: Array<{ map: boolean; nodes: number; path: string; key?: string }> = [];
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
        continue;
      }
      path = `${parent.path}\0${parent.key}`;
    } else if (parent) {
      path = `${parent.path}\0${parent.nodes++}`;
    }
    if (e.type === EVENT_ID.MAPPING || e.type === EVENT_ID.SEQUENCE) {
      if (e.anchorStart < 0) starts.set(path, e.start);
      open.push({ map: e.type === EVENT_ID.MAPPING, nodes: 0, path });
    }
  }
  return starts;
}

/**
 * One document, no directive, no tag, no alias, and no key that is null or a collection: YAML whose
 * data both parsers build the same way. (A key the core schema reads as null is `''` to `yaml` and
 * `'null'` to js-yaml; a collection as a key has no agreed string form.)
 */
function plainSingleDocument(events: Event[], source: string): boolean {
  let documents = 0;
  // Per open collection: whether it is a map, and how many nodes it has had (keys are the even ones).
  const open: Array<{ map: boolean; nodes: number }> = [];
  for (const e of events) {
    if (e.type === EVENT_ID.DOCUMENT) {
      if (++documents > 1 || e.directives.length) return false;
      continue;
    }
    if (e.type === EVENT_ID.POP) {
      open.pop();
      continue;
    }
    if (e.type === EVENT_ID.ALIAS || e.tagStart >= 0) return false;
    const parent = open[open.length - 1];
    const isKey = parent?.map === true && parent.nodes++ % 2 === 0;
    if (e.type === EVENT_ID.SCALAR) {
      if (isKey && e.style === SCALAR_STYLE.PLAIN && NULL.test(source.slice(e.valueStart, e.valueEnd))) return false;
    } else {
      if (isKey) return false;
      open.push({ map: e.type === EVENT_ID.MAPPING, nodes: 0 });
    }
  }
  return documents === 1;
}

/** The YAML 1.2 core schema's null. */
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
