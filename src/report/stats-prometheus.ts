/**
 * `runbook stats --format prometheus`: the KPIs and the drill schedule in text exposition format
 * 0.0.4, for a node_exporter textfile collector (dashboards/disaster-recovery.json reads them).
 * Gauges only, no timestamps (the textfile collector rejects them). Labels are bounded: kind, kpi,
 * runbook, every — never a run id. A family with no sample is left out.
 */
import type { DrillStatus } from './drills.js';
import { escapeLabel } from './prometheus.js';
import type { Stats } from './stats.js';
import type { Trend } from './trend.js';

type Labels = Record<string, string>;
interface Family {
  name: string;
  help: string;
  samples: [Labels, number][];
}

const TREND_VALUE = { improving: 1, stable: 0, degrading: -1 } as const;

export function renderStatsPrometheus(s: Stats, drills: DrillStatus[] | undefined, nowMs: number): string {
  const fams: Family[] = [];
  const family = (name: string, help: string) => {
    const f: Family = { name, help, samples: [] };
    fams.push(f);
    return (labels: Labels, v: number | null | undefined) => {
      if (v !== null && v !== undefined && Number.isFinite(v)) f.samples.push([labels, v]);
    };
  };
  const sec = (ms: number | null | undefined) => (ms === null || ms === undefined ? undefined : ms / 1000);

  family('runbook_kpi_generated_timestamp_seconds', 'When runbook stats computed these figures, seconds since the Unix epoch.')({}, nowMs / 1000);
  family('runbook_kpi_window_seconds', 'Length of the window the KPIs are computed over (--since).')({}, (Date.parse(s.window.until) - Date.parse(s.window.since)) / 1000);
  const runs = family('runbook_kpi_runs', 'Finished real runs in the window, by kind (backup, restore-test, recovery).');
  const ratio = family('runbook_kpi_success_ratio', 'Share of finished runs in the window that succeeded, by kind.');
  const rates = { backup: s.backup, 'restore-test': s.restore_test, recovery: s.recovery } as const;
  for (const [kind, r] of Object.entries(rates)) {
    runs({ kind }, r.runs);
    ratio({ kind }, r.rate);
  }
  family('runbook_kpi_drill_runs', 'Finished recovery runs in the window that were drills (run --drill).')({}, s.recovery.drills);
  family('runbook_kpi_incident_runs', 'Finished recovery runs in the window that were incidents.')({}, s.recovery.incidents);
  family('runbook_kpi_backup_duration_mean_seconds', 'Mean duration of successful backups in the window.')({}, sec(s.backup.duration.mean_ms));
  family('runbook_kpi_backup_duration_max_seconds', 'Longest successful backup in the window.')({}, sec(s.backup.duration.max_ms));
  family('runbook_kpi_backup_duration_objective_seconds', "Backup runbook's time objective (its RTO).")({}, sec(s.backup.duration.objective_ms));
  family('runbook_kpi_mttr_seconds', 'Mean time to recover: mean duration of successful recoveries in the window.')({}, sec(s.mttr.mean_ms));

  for (const [name, kpi] of [['rto', s.rto], ['rpo', s.rpo]] as const) {
    const what = name === 'rto' ? 'recovery time achieved' : 'recovery point measured';
    const mean = family(`runbook_kpi_${name}_seconds`, `Mean ${what} in the window, by runbook.`);
    const last = family(`runbook_kpi_${name}_last_seconds`, `Latest ${what} in the window, by runbook.`);
    const objective = family(`runbook_kpi_${name}_objective_seconds`, `The runbook's ${name.toUpperCase()} objective.`);
    const met = family(`runbook_kpi_${name}_met_ratio`, `Share of runs in the window that met the ${name.toUpperCase()} objective, by runbook.`);
    for (const b of kpi.by_runbook) {
      const l = { runbook: b.runbook };
      mean(l, sec(b.mean_ms));
      last(l, sec(b.last_ms));
      objective(l, sec(b.objective_ms));
      met(l, b.runs ? b.met / b.runs : null);
    }
  }

  const trend = family('runbook_kpi_trend', 'Trend of each KPI over the window: 1 improving, 0 stable, -1 degrading (absent: fewer than 3 runs).');
  const change = family('runbook_kpi_trend_change_ratio', 'Fitted change of each KPI across the window: relative for times, in fraction points for success rates.');
  const trends: [string, Trend][] = [
    ['backup_success', s.backup.trend],
    ['backup_duration', s.backup.duration.trend],
    ['restore_test_success', s.restore_test.trend],
    ['recovery_success', s.recovery.trend],
    ['mttr', s.mttr.trend],
    ['rto', s.rto.trend],
    ['rpo', s.rpo.trend],
  ];
  for (const [kpi, t] of trends) {
    if (t.direction === 'unknown') continue;
    trend({ kpi }, TREND_VALUE[t.direction]);
    change({ kpi }, t.change);
  }

  if (drills) {
    const overdue = family('runbook_drill_overdue', '1 when the drill is overdue (no passing drill within its period), else 0.');
    const lastOk = family('runbook_drill_last_success', '1 when the latest drill of the runbook succeeded, else 0 (absent: never drilled).');
    const lastAt = family('runbook_drill_last_timestamp_seconds', 'Start of the latest drill of the runbook, seconds since the Unix epoch.');
    const due = family('runbook_drill_next_due_timestamp_seconds', 'When the next passing drill is due, seconds since the Unix epoch (absent: due now).');
    const lastDuration = family('runbook_drill_last_duration_seconds', 'Duration of the latest drill, passed or not.');
    const rtoMet = family('runbook_drill_last_rto_met', '1 when the latest drill met its RTO, else 0.');
    const rto = family('runbook_drill_last_rto_seconds', 'Recovery time of the latest drill (absent when it did not recover).');
    const rtoObj = family('runbook_drill_rto_objective_seconds', 'RTO objective of the latest drill.');
    for (const d of drills) {
      const l = { runbook: d.runbook, every: d.every };
      overdue(l, d.overdue ? 1 : 0);
      if (d.last) {
        lastOk(l, d.last.status === 'succeeded' ? 1 : 0);
        lastAt(l, Date.parse(d.last.started_at) / 1000);
        lastDuration(l, sec(d.last.duration_ms));
        if (d.last.rto.met !== null) rtoMet(l, d.last.rto.met ? 1 : 0);
        rto(l, sec(d.last.rto.achieved_ms));
        rtoObj(l, sec(d.last.rto.objective_ms));
      }
      if (d.next_due) due(l, Date.parse(d.next_due) / 1000);
    }
  }

  const lines: string[] = [];
  for (const f of fams) {
    if (!f.samples.length) continue;
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} gauge`);
    for (const [labels, v] of f.samples) {
      const l = Object.entries(labels).map(([k, x]) => `${k}="${escapeLabel(x)}"`).join(',');
      lines.push(`${f.name}${l ? `{${l}}` : ''} ${String(v)}`);
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
