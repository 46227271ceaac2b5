/** Plain-text tables of `runbook stats` and `runbook drills`. */
import { formatDuration } from '../report/format.js';
import type { DrillStatus } from '../report/drills.js';
import type { DurationKpi, ObjectiveKpi, Rate, Stats } from '../report/stats.js';
import type { Trend } from '../report/trend.js';

const pct = (r: number | null) => (r === null ? '—' : `${Math.round(r * 1000) / 10}%`);
const dur = (ms: number | null | undefined) => (ms === null || ms === undefined ? '—' : formatDuration(ms));
const day = (iso: string) => iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, 'Z');

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n';
}

export function describeTrend(t: Trend): string {
  if (t.direction === 'unknown') return `unknown (${t.samples} run${t.samples === 1 ? '' : 's'}; a trend needs 3)`;
  const change = t.better === 'higher' ? `${t.change! >= 0 ? '+' : ''}${Math.round(t.change! * 1000) / 10} pts` : `${t.change! >= 0 ? '+' : ''}${Math.round(t.change! * 1000) / 10}%`;
  const limit = t.better === 'higher' ? `±${t.threshold * 100} pts` : `±${t.threshold * 100}%`;
  return `${t.direction} (${change} over the window; stable within ${limit})`;
}

const rateRow = (name: string, r: Rate): string[] => [name, r.runs ? `${pct(r.rate)} (${r.succeeded}/${r.runs})` : 'no runs', '100%', describeTrend(r.trend)];
const durationRow = (name: string, d: DurationKpi): string[] => [
  name,
  d.runs ? `mean ${dur(d.mean_ms)}, max ${dur(d.max_ms)} (${d.runs} runs)` : 'no successful runs',
  d.objective_ms !== undefined ? `< ${dur(d.objective_ms)}` : '—',
  describeTrend(d.trend),
];
const objectiveRow = (name: string, o: ObjectiveKpi): string[] => [
  name,
  o.runs ? `met ${o.met}/${o.runs} (${pct(o.met_rate)}), mean ${dur(o.mean_ms)}, last ${dur(o.last_ms)}` : 'not measured',
  o.objective_ms !== undefined ? `≤ ${dur(o.objective_ms)}` : o.by_runbook.length ? 'per runbook' : '—',
  describeTrend(o.trend),
];

export function renderStatsText(s: Stats): string {
  const head = `DR KPIs${s.runbook ? ` of ${s.runbook}` : ''}, ${day(s.window.since)} → ${day(s.window.until)}: ${s.runs.total} real runs (${s.runs.drills} drills, ${s.runs.incidents} incidents${s.runs.incomplete ? `, ${s.runs.incomplete} unfinished, not counted` : ''})\n\n`;
  const rows = [
    rateRow('Backup success rate', s.backup),
    durationRow('Backup duration', s.backup.duration),
    rateRow('Restore test success rate', s.restore_test),
    rateRow('Recovery success rate', s.recovery),
    durationRow('MTTR', s.mttr),
    objectiveRow('RTO achieved', s.rto),
    objectiveRow('RPO achieved', s.rpo),
  ];
  let out = head + table(['KPI', 'VALUE', 'TARGET', 'TREND'], rows);
  const per = [...s.rto.by_runbook.map((b) => ['RTO', b] as const), ...s.rpo.by_runbook.map((b) => ['RPO', b] as const)];
  if (per.length) {
    out += '\n' + table(
      ['BY RUNBOOK', 'RUNBOOK', 'MET', 'MEAN', 'LAST', 'OBJECTIVE'],
      per.map(([k, b]) => [k, b.runbook, `${b.met}/${b.runs}`, dur(b.mean_ms), dur(b.last_ms), dur(b.objective_ms)]),
    );
  }
  return out;
}

export function renderDrillsText(drills: DrillStatus[], nowMs: number): string {
  const rows = drills.map((d) => [
    d.runbook,
    d.every,
    d.last ? day(d.last.started_at) : 'never',
    d.last ? d.last.status : '—',
    d.last?.rto.met === null || !d.last ? '—' : `${d.last.rto.met ? 'met' : 'missed'} (${dur(d.last.rto.achieved_ms)} / ${dur(d.last.rto.objective_ms)})`,
    d.next_due ? day(d.next_due) : 'now',
    d.overdue ? `OVERDUE (${d.reason})` : 'ok',
  ]);
  const overdue = drills.filter((d) => d.overdue);
  const tail = overdue.length
    ? `\n${overdue.length} of ${drills.length} drills overdue: ${overdue.map((d) => d.runbook).join(', ')} (as of ${day(new Date(nowMs).toISOString())})\n`
    : `\nno drill overdue (as of ${day(new Date(nowMs).toISOString())})\n`;
  return table(['DRILL', 'EVERY', 'LAST DRILL', 'RESULT', 'RTO', 'NEXT DUE', 'STATUS'], rows) + tail;
}
