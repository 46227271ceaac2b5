// `npm run bench`: runs every benchmark in bench/ one after another and prints its figures against
// its target. Benchmarks are measurements, not tests: they run outside CI, on the built `dist/`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const benches = [
  ['startup.mjs', 'start-up as ratios to node -e 0: --version (≤ 1.5×), validate of 1 step (≤ 2×) and of 1,000 steps (≤ 4×)'],
  ['validate.mjs', 'validate/plan of a generated 1,000-step runbook (target < 0.5 s wall; no TUI import)'],
  ['interpreter.mjs', 'interpreter overhead, concurrency, journal fsync cost'],
  ['state.mjs', 'PostgreSQL store vs file store: control steps (≤ 3×), commit vs fsync (≤ 2×), takeover (≤ lease + 2 s)'],
  ['shell-spawn.mjs', 'shell step vs plain child_process spawn (target ≤ 2×)'],
  ['s3-memory.mjs', "peak RSS of a 1 GiB s3 put + get (target < 200 MB), and how busy the interpreter's thread was meanwhile"],
  ['drill.mjs', 'scenario-1 drill at 1,000,000 rows against fetch + decrypt + bare pg_restore (target ≤ 1.2×)'],
  ['ssh.mjs', 'over SSH (5 sshds): command on a reused connection vs bare ssh2 exec (≤ 1.5×), sleep 1 on 50 hosts (≤ 1.5 s), against Ansible 2.14 (goal ≥ 10×)'],
  ['output-memory.mjs', 'a step printing 2 GB through the CLI: peak RSS (target < 200 MB) and journal size (target < 3 MiB)'],
];
const only = process.argv.slice(2);
let failed = 0;
for (const [file, what] of benches) {
  if (only.length && !only.some((o) => file.startsWith(o))) continue;
  const path = new URL(file, import.meta.url).pathname;
  console.log(`\n=== ${file}: ${what}`);
  if (!existsSync(path)) {
    console.log(`(missing: ${file})`);
    failed++;
    continue;
  }
  const r = spawnSync(process.execPath, [path], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
