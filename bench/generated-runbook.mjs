// A generated runbook of N steps in a rotating mix of every step type, guards, retries, rollbacks,
// needs across phases and expressions: the input of bench/validate.mjs and bench/startup.mjs.
const PER_PHASE = 100;

/** One step of a rotating mix; `prev` is an earlier step id (same phase) to depend on and refer to. */
function step(i, prev, earlierPhaseStep) {
  const id = `s${i}`;
  const needs = prev ? `\n        needs: [${prev}${earlierPhaseStep ? `, ${earlierPhaseStep}` : ''}]` : '';
  const guard = prev ? `\n        when: "\${{ steps.${prev}.status == 'succeeded' }}"` : '';
  switch (i % 6) {
    case 0:
      return `      - id: ${id}${needs}${guard}
        timeout: 30s
        retry: { attempts: 2, delay: 1s }
        shell: { run: "echo \${{ params.target }} step ${i} && test -n \${{ run.id }}" }
        outputs: { code: "\${{ result.exit_code }}" }
        rollback: { shell: { run: "echo undo ${i} for \${{ self.status }}" } }`;
    case 1:
      return `      - id: ${id}${needs}
        sql: { connection: db, query: "SELECT $1::text AS target, $2::int AS n", params: ["\${{ params.target }}", ${i}] }
        expect: "result.row_count == 1"
        outputs: { target: "\${{ result.rows[0].target }}" }
        rollback: { sql: { connection: db, script: "SELECT 1; SELECT 2", transaction: true } }`;
    case 2:
      return `      - id: ${id}${needs}
        http: { connection: app, method: POST, url: "/api/items/${i}", json: { target: "\${{ params.target }}", n: ${i} }, expect_status: [200, 201] }
        outputs: { status: "\${{ result.status }}" }`;
    case 3:
      return `      - id: ${id}${needs}
        s3: { connection: store, action: latest, prefix: "pg/\${{ params.target }}/${i}/" }
        outputs: { key: "\${{ result.key }}" }
        rollback: { s3: { connection: store, action: delete, key: "tmp/${i}" } }`;
    case 4:
      return `      - id: ${id}${needs}
        docker: { connection: engine, action: stop, service: "web-${i}", grace: 10s }
        rollback: { docker: { connection: engine, action: start, service: "web-${i}" } }`;
    default:
      return `      - id: ${id}${needs}
        assert: "\${{ length(params.target) > 0 && steps.${prev ?? 's0'}.status != 'failed' }}"`;
  }
}

export function runbook(steps) {
  const phases = [];
  for (let p = 0; p * PER_PHASE < steps; p++) {
    const lines = [];
    for (let i = p * PER_PHASE; i < Math.min(steps, (p + 1) * PER_PHASE); i++) {
      const prev = i > p * PER_PHASE ? `s${i - 1}` : undefined;
      // Now and then also wait for a step of the phase before.
      const earlier = p > 0 && i % 10 === 3 ? `s${i - PER_PHASE}` : undefined;
      lines.push(step(i, prev, earlier));
    }
    phases.push(`  - id: phase-${p}\n    budget: 10m\n    steps:\n${lines.join('\n')}`);
  }
  return `runbook: bench-validate
title: Generated runbook of ${steps} steps
severity: P1
objectives: { rto: 2h, rpo: 5m }
params:
  target: { type: string, enum: [staging, production], default: staging }
secrets:
  db_password: { env: PGPASSWORD }
connections:
  db: { postgres: { url: "postgres://app@127.0.0.1:5432/app", password: "\${{ secrets.db_password }}" } }
  store: { s3: { bucket: backups, endpoint: "http://127.0.0.1:9000", region: us-east-1 } }
  engine: { docker: { socket: /var/run/docker.sock, project: bench } }
  app: { http: { base_url: "http://127.0.0.1:8080" } }
defaults:
  timeout: 2m
phases:
${phases.join('\n')}
`;
}
