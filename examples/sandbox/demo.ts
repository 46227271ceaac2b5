/**
 * `npm run demo [-- <scenario>] [--list] [--no-tui] [--json] [--state-dir DIR]`
 *
 * Starts the sandbox (PostgreSQL 15, S3, the trading service) in a temp dir on 127.0.0.1, makes a
 * failure happen for real (scenario 1: a real backup, then DROP TABLE trades), and runs the DR
 * guide's runbook for it through the real CLI, TUI and all, against the RTO. Prints the report path
 * and a one-line verdict, then stops everything. Ctrl-C reaches the CLI (it rolls back), then the
 * sandbox is cleaned up.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, RUNBOOKS_DIR, runRunbook } from './demo-cli.js';
import { findScenario, ms, SCENARIOS, type DemoContext } from './demo-scenarios.js';
import { startSandbox, type Sandbox } from './sandbox.js';
import { CONTAINER_SCENARIOS, findContainerScenario } from './demo-containers.js';
import { startDockerSandbox, type DockerSandbox } from './docker-sandbox.js';
import { findDockerUnavailableReason } from './services/docker.js';
import { findHostScenario, HOST_SCENARIOS } from './demo-hosts.js';
import { fakeHostsUnavailableReason } from './fake-hosts.js';

/** The demo's runs (and their setup runs: backups, PITR setup) stay here, so reports, history, drills and stats work afterwards. */
const DEMO_STATE_DIR = join(REPO_ROOT, '.runbook', 'demo');

const USAGE = `usage: npm run demo -- [scenario] [--list] [--no-tui] [--json] [--state-dir DIR] [--rows N]
  default scenario: database-corruption
  --rows N   trades seeded into the sandbox's database (default: the scenario's, 5,000 for scenario 1)`;

export async function main(argv = process.argv.slice(2)): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      list: { type: 'boolean' },
      'no-tui': { type: 'boolean' },
      json: { type: 'boolean' },
      'state-dir': { type: 'string' },
      rows: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.list) {
    for (const s of SCENARIOS) console.log(`${s.name.padEnd(26)} ${s.title}  (runbooks/${s.runbook}.yaml)`);
    const noHosts = fakeHostsUnavailableReason();
    for (const s of HOST_SCENARIOS) {
      console.log(`${s.name.padEnd(26)} ${s.title}  (runbooks/${s.runbook}.yaml; fake hosts over SSH${noHosts ? `: skipped here, ${noHosts}` : ''})`);
    }
    const reason = await findDockerUnavailableReason();
    for (const s of CONTAINER_SCENARIOS) {
      console.log(`${s.name.padEnd(26)} ${s.title}  (runbooks/${s.runbook}.yaml; Podman's Docker API${reason ? `: skipped here, ${reason}` : ''})`);
    }
    return 0;
  }
  if (positionals.length > 1) {
    console.error(USAGE);
    return 2;
  }
  const name = positionals[0] ?? 'database-corruption';
  const scenario = findScenario(name) ?? findHostScenario(name) ?? findContainerScenario(name);
  if (!scenario) {
    console.error(`unknown scenario '${name}'; one of: ${[...SCENARIOS, ...HOST_SCENARIOS, ...CONTAINER_SCENARIOS].map((s) => s.name).join(', ')}`);
    return 2;
  }
  const rows = values.rows === undefined ? undefined : Number(values.rows);
  if (rows !== undefined && !(Number.isInteger(rows) && rows >= 0)) {
    console.error(`--rows: expected a whole number of trades, got '${values.rows}'`);
    return 2;
  }
  // With --json stdout carries only the CLI's NDJSON; our own lines go to stderr.
  const say = (line: string) => (values.json ? process.stderr : process.stdout).write(`${line}\n`);
  const started = performance.now();

  let child: ChildProcess | undefined;
  let interrupted = false;
  // On a terminal, Ctrl-C reaches the CLI directly (same process group): forwarding it would count
  // as a second signal, which skips the rollback. Signals sent to us alone are forwarded.
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    if (child && child.exitCode === null) {
      const terminalDelivered = signal === 'SIGINT' && process.stdin.isTTY;
      if (!terminalDelivered) child.kill(signal);
    } else if (!child) {
      say(`\n${signal}: stopping the sandbox`);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  say(`▶ ${scenario.title}`);
  let sb: Sandbox | undefined;
  let docker: DockerSandbox | undefined;
  try {
    let stateDir: string;
    let env: Record<string, string>;
    let params: Record<string, string | number | boolean>;
    let verdictOf: (run: Awaited<ReturnType<typeof runRunbook>>) => Promise<string>;
    if ('docker' in scenario) {
      const reason = await findDockerUnavailableReason();
      if (reason) {
        say(`⤼ skipped: ${scenario.name} needs Podman's Docker-compatible API, which cannot start here: ${reason}`);
        return 0;
      }
      docker = await startDockerSandbox({ scenario: scenario.docker });
      if (!docker) throw new Error("Podman's Docker API did not start");
      stateDir = values['state-dir'] ?? DEMO_STATE_DIR;
      say(`  Docker API ${docker.api.host}: ${docker.project}/${docker.service}, blue on :${docker.ports.blue}, green on :${docker.ports.green}, traffic on ${docker.live()} through ${docker.env.APP_URL}`);
      env = { ...docker.env };
      params = scenario.params;
      const d = docker;
      verdictOf = (run) => scenario.verdict(d, run);
    } else {
      const noHosts = scenario.needsHosts ? fakeHostsUnavailableReason() : undefined;
      if (noHosts) {
        say(`⤼ skipped: ${scenario.name} needs fake hosts over SSH (sshd on 127.0.0.2 and up), which cannot start here: ${noHosts}`);
        return 0;
      }
      sb = await startSandbox(rows === undefined ? scenario.sandbox : { ...scenario.sandbox, trades: rows });
      stateDir = values['state-dir'] ?? DEMO_STATE_DIR;
      say(`  sandbox in ${sb.dir}: PostgreSQL ${sb.pg.version} on 127.0.0.1:${sb.pg.port} (${sb.trades.toLocaleString('en')} trades), S3 ${sb.s3.endpoint} (bucket ${sb.bucket}) and ${sb.s3dr.endpoint} (second region), trading service ${sb.app.url}`);
      if (sb.hosts) say(`  fake hosts over SSH: ${[...(sb.hosts.db ? [`${sb.hosts.db.inventoryName} ${sb.hosts.db.address}:${sb.hosts.db.port}`] : []), ...sb.hosts.app.map((h) => `${h.name} ${h.address} (service ${h.url})`)].join(', ')}; inventory ${sb.hosts.inventory}`);
      else if (sb.hostsUnavailable) say(`  no fake hosts: ${sb.hostsUnavailable}`);
      const ctx: DemoContext = { sb, stateDir, say: (line) => say(`  ${line}`) };
      if (interrupted) return 130;
      params = await scenario.setup(ctx);
      env = sb.env;
      verdictOf = (run) => scenario.verdict(ctx, run);
    }
    if (interrupted) return 130;

    // The demo is a DR drill (spec §12): a real run, reported as a drill and counted by `runbook drills`.
    const extra = ['--yes', '--drill'];
    if (values['no-tui']) extra.push('--no-tui');
    if (values.json) extra.push('--json');
    say(`▶ runbook run ${join('runbooks', `${scenario.runbook}.yaml`)} ${Object.entries(params).map(([k, v]) => `--set ${k}=${v}`).join(' ')} ${extra.join(' ')}\n`);
    const run = await runRunbook(join(RUNBOOKS_DIR, `${scenario.runbook}.yaml`), {
      stateDir,
      env,
      params,
      extra,
      stdio: 'inherit',
      // A terminal's Ctrl-C must reach the CLI, so it stays in our process group there.
      detached: !process.stdin.isTTY,
      onSpawn: (c) => (child = c),
    });
    child = undefined;
    say('');
    if (run.reportPath && existsSync(run.reportPath)) say(summarizeReport(readFileSync(run.reportPath, 'utf8')));
    if (run.reportPath) say(`report: ${relative(process.cwd(), run.reportPath)}   (runbook report ${run.runId} --state-dir ${relative(process.cwd(), stateDir) || '.'} --format md|json|junit|prometheus)`);
    if (!run.finished) {
      say(`✗ the run did not finish (exit ${run.code ?? run.signal})`);
      return run.code ?? 130;
    }
    if (sb) say(describeNotifications(sb));
    const verdict = await verdictOf(run);
    const ok = run.finished.status === (scenario.expectStatus ?? 'succeeded');
    say(`${ok ? '✓' : '✗'} ${scenario.name}: ${verdict} — demo ${ms(performance.now() - started)} in all`);
    if (interrupted) return 130;
    return ok ? 0 : 1;
  } catch (err) {
    say(`✗ ${(err as Error).message}`);
    return 1;
  } finally {
    await docker?.stop();
    await sb?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** What the runbook sent to the sandbox's PagerDuty and Slack stand-in, and the incidents as PagerDuty would hold them. */
function describeNotifications(sb: Sandbox): string {
  const lines = sb.notify.describe();
  if (!lines.length) return `notifications: none reached the local receiver ${sb.notify.url}`;
  const incidents = sb.notify.incidents().map((i) => `  incident ${i.dedup_key}: ${i.events.join(' → ')} (${i.status})`);
  return [`notifications received by the local receiver ${sb.notify.url}:`, ...lines.map((l) => `  ${l}`), ...incidents].join('\n');
}

/** The report's title and summary table (up to the timeline). */
function summarizeReport(md: string): string {
  const end = md.indexOf('\n## Timeline');
  return (end < 0 ? md : md.slice(0, end)).trimEnd();
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
