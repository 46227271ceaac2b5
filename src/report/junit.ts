/**
 * `--format junit`: one `<testsuite>` per top-level phase (and the run's `finally`), one `<testcase>`
 * per step instance (`classname` = `<runbook>.<phase>`, `name` = its instance address, spec §8: a
 * for_each step, each of its items and each step of a sub-runbook an item runs), and one
 * `rollback:<address>` testcase per rollback body that ran, so CI can show a drill like a test run.
 * Names are unique within the report: a rollback that ran twice (a resumed run) gets ` #2`.
 */
import type { RunReport, StepReport } from './types.js';

interface Case {
  name: string;
  time?: number;
  /** failure: [type, message, body]; skipped: message. */
  failure?: [string, string, string];
  skipped?: string;
}

export function renderJunit(r: RunReport): string {
  const suites = new Map<string, Case[]>();
  const names = new Map<string, number>();
  const unique = (name: string) => {
    const n = (names.get(name) ?? 0) + 1;
    names.set(name, n);
    return n === 1 ? name : `${name} #${n}`;
  };
  const suite = (phase: string) => suites.get(phase) ?? (suites.set(phase, []), suites.get(phase)!);
  const topPhase = new Map(r.steps.map((s) => [s.id, s.top_phase]));
  for (const p of r.phases) suite(p.id);
  for (const s of r.steps) suite(s.top_phase).push({ ...stepCase(s, r.run.status === 'incomplete'), name: unique(s.id) });
  for (const b of r.rollbacks) {
    const failed = b.status === 'failed' || b.status === 'timed_out' || b.status === 'running';
    suite(topPhase.get(b.step) ?? b.phase ?? 'rollback').push({
      name: unique(`rollback:${b.step}`),
      time: b.duration_ms,
      failure: failed ? [b.status, firstLine(b.error ?? `rollback ${b.status}`), b.error ?? ''] : undefined,
      skipped: b.status === 'skipped' || b.status === 'cancelled' ? `rollback ${b.status}` : undefined,
    });
  }
  const all = [...suites.values()].flat();
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: r.run.runbook, tests: all.length, failures: count(all, 'failure'), errors: 0, skipped: count(all, 'skipped'), time: seconds(r.run.duration_ms) })}>`,
  ];
  for (const [phase, cases] of suites) {
    if (!cases.length) continue;
    const p = r.phases.find((x) => x.id === phase);
    const classname = `${r.run.runbook}.${phase}`;
    lines.push(
      `  <testsuite${attrs({ name: classname, tests: cases.length, failures: count(cases, 'failure'), errors: 0, skipped: count(cases, 'skipped'), time: seconds(p?.duration_ms), timestamp: p?.started_at?.replace(/(\.\d+)?Z$/, ''), hostname: r.run.host })}>`,
      '    <properties>',
      `      <property${attrs({ name: 'run', value: r.run.id })}/>`,
      `      <property${attrs({ name: 'run_status', value: r.run.status })}/>`,
      `      <property${attrs({ name: 'dry_run', value: String(r.run.dry_run) })}/>`,
      `      <property${attrs({ name: 'drill', value: String(r.run.drill) })}/>`,
      '    </properties>',
    );
    for (const c of cases) lines.push(...caseXml(classname, c));
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

function stepCase(s: StepReport, incomplete: boolean): Case {
  const c: Case = { name: s.id, time: s.duration_ms };
  if (s.status === 'failed' || s.status === 'timed_out') c.failure = [s.status, firstLine(s.error ?? s.status), s.error ?? ''];
  else if (s.status === 'running') c.failure = ['running', incomplete ? 'did not finish: the run is incomplete' : 'did not finish', ''];
  else if (s.status === 'skipped' || s.status === 'cancelled') c.skipped = s.status;
  else if (s.status === 'pending') c.skipped = 'not run';
  return c;
}

function caseXml(classname: string, c: Case): string[] {
  const open = `    <testcase${attrs({ classname, name: c.name, time: seconds(c.time) })}`;
  if (c.failure) {
    const [type, message, body] = c.failure;
    return [`${open}>`, `      <failure${attrs({ message, type })}>${escapeXml(body)}</failure>`, '    </testcase>'];
  }
  if (c.skipped) return [`${open}>`, `      <skipped${attrs({ message: c.skipped })}/>`, '    </testcase>'];
  return [`${open}/>`];
}

function count(cases: Case[], key: 'failure' | 'skipped'): number {
  return cases.filter((c) => c[key] !== undefined).length;
}

function seconds(ms: number | undefined): string {
  return ((ms ?? 0) / 1000).toFixed(3);
}

function firstLine(text: string): string {
  return text.split(/\r?\n/, 1)[0];
}

function attrs(a: Record<string, string | number | undefined>): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
}

/** Escape for text and attribute values; drop characters XML 1.0 cannot hold (e.g. ANSI ESC). */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
