/**
 * The shared store's tables, schema `runbook`, as versioned migrations (spec §10). Each runs once,
 * in order, in one transaction under an advisory lock, so runners opening a fresh store at the same
 * moment migrate it once. `runbook.schema_version` holds one row per version applied.
 */
export interface Migration {
  version: number;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: `
CREATE SCHEMA IF NOT EXISTS runbook;
CREATE TABLE runbook.schema_version (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
-- One row a run; epoch goes up at every takeover (fencing).
CREATE TABLE runbook.runs (
  id text PRIMARY KEY,
  runbook text NOT NULL,
  epoch bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- The journal: one row an event, its JSON line kept byte for byte (export gives the same JSONL).
CREATE TABLE runbook.events (
  run text NOT NULL REFERENCES runbook.runs (id),
  seq bigint NOT NULL,
  epoch bigint NOT NULL,
  type text NOT NULL,
  line text NOT NULL,
  PRIMARY KEY (run, seq)
);
-- Who holds each lock: the advisory lock proves the session lives, this row says who and until when.
CREATE TABLE runbook.leases (
  lock text PRIMARY KEY,
  run text NOT NULL,
  epoch bigint NOT NULL,
  pid int NOT NULL,
  host text NOT NULL,
  "user" text NOT NULL,
  started_at timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL,
  lease_ms int NOT NULL
);
-- Fencing: a write of an older epoch than the run's is refused (a frozen runner that wakes up).
CREATE FUNCTION runbook.fence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE current bigint;
BEGIN
  SELECT epoch INTO current FROM runbook.runs WHERE id = NEW.run FOR SHARE;
  IF current IS NOT NULL AND NEW.epoch < current THEN
    RAISE EXCEPTION 'run % was taken over: write of epoch % refused (current epoch %)', NEW.run, NEW.epoch, current USING ERRCODE = 'RBF01';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER events_fence BEFORE INSERT ON runbook.events FOR EACH ROW EXECUTE FUNCTION runbook.fence();
`,
  },
  {
    version: 2,
    sql: `
-- What fenced runners tried to write after a takeover: kept for the post-mortem, never in the journal.
CREATE TABLE runbook.fenced_writes (
  id bigserial PRIMARY KEY,
  run text NOT NULL,
  epoch bigint NOT NULL,
  current_epoch bigint,
  pid int NOT NULL,
  host text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  lines text[] NOT NULL
);
-- history and report find a run's run.started / run.finished without reading its output lines.
CREATE INDEX events_run_type ON runbook.events (run, type) WHERE type IN ('run.started', 'run.finished', 'run.resumed');
CREATE INDEX runs_runbook ON runbook.runs (runbook);
`,
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
/** Advisory lock key (class, object) that serialises migrations. */
export const MIGRATION_LOCK = [1381187155, 1];
