/**
 * What is deployed on a fake app host (./app-host.ts), as the files themselves: a release of the
 * trading service (`app.cjs`, a stand-in answering the actuator's health and the admin maintenance
 * switch), the host's service manager (`supervise.cjs`, a stand-in for systemd or runit that keeps
 * the service running) and the service's control script (`bin/trading-service`, the verbs of
 * Spring Boot's launch script: start, stop, restart, status). They are written into the host's
 * folder, so the demo (built JS) and the tests (TS) run the same programs.
 */

/**
 * A release: listens on ADDRESS:PORT from `<root>/config/app.env`; refuses to start (exit 78, as
 * Spring Boot's fail-fast configuration does) when a key its REQUIRES file lists is missing there.
 * GET /actuator/health → {status, version, host, components}; `db` is a TCP check of
 * DB_ADDRESS:DB_PORT when configured. POST /admin/maintenance {"enabled":true} takes the instance
 * out of rotation: its health answers 503 OUT_OF_SERVICE (a load balancer stops sending it traffic).
 */
export const APP_JS = String.raw`'use strict';
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const root = path.resolve(__dirname, '..', '..');
const version = fs.readFileSync(path.join(__dirname, 'VERSION'), 'utf8').trim();
const config = {};
for (const line of fs.readFileSync(path.join(root, 'config', 'app.env'), 'utf8').split('\n')) {
  const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
  if (m) config[m[1]] = m[2].trim();
}
const requiresFile = path.join(__dirname, 'REQUIRES');
const requires = fs.existsSync(requiresFile) ? fs.readFileSync(requiresFile, 'utf8').split(/\s+/).filter(Boolean) : [];
for (const key of requires) {
  if (!config[key]) {
    console.error('APPLICATION FAILED TO START: trading-service ' + version + ' needs ' + key + ' in config/app.env');
    process.exit(78);
  }
}
let maintenance = false;
function checkDb() {
  if (!config.DB_PORT) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const s = net.connect({ host: config.DB_ADDRESS || '127.0.0.1', port: Number(config.DB_PORT) });
    const done = (status) => { s.destroy(); resolve({ status }); };
    s.setTimeout(1000, () => done('DOWN'));
    s.once('connect', () => done('UP'));
    s.once('error', () => done('DOWN'));
  });
}
const server = http.createServer(async (req, res) => {
  const send = (status, body) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
  if (req.method === 'GET' && req.url === '/actuator/health') {
    const db = await checkDb();
    const status = db && db.status === 'DOWN' ? 'DOWN' : maintenance ? 'OUT_OF_SERVICE' : 'UP';
    return send(status === 'UP' ? 200 : 503, { status, version, host: config.HOST_NAME, components: db ? { db } : {} });
  }
  if (req.url === '/admin/maintenance') {
    if (req.method === 'GET') return send(200, { maintenance });
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      try { maintenance = JSON.parse(body).enabled === true; } catch { return send(400, { error: 'expected {"enabled": true|false}' }); }
      send(200, { maintenance });
    });
    return;
  }
  send(404, { error: 'not found' });
});
server.listen(Number(config.PORT), config.ADDRESS, () => console.log('trading-service ' + version + ' listening on ' + config.ADDRESS + ':' + config.PORT));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/**
 * The host's service manager: runs `<root>/current/app.cjs` (the symlink is followed at each
 * start, so a restart picks up a switched release), starts it again 200 ms after it exits unless
 * `run/down` exists, and records the running pid in `run/app.pid`. SIGTERM stops the service, then
 * itself.
 */
export const SUPERVISE_JS = String.raw`'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const root = process.argv[2];
const run = (f) => path.join(root, 'run', f);
let child;
let stopping = false;
function put(file, text) { fs.writeFileSync(file + '.tmp', text); fs.renameSync(file + '.tmp', file); }
function loop() {
  if (stopping) return;
  if (fs.existsSync(run('down'))) return void setTimeout(loop, 100);
  const log = fs.openSync(path.join(root, 'log', 'app.log'), 'a');
  child = spawn(process.execPath, [path.join(root, 'current', 'app.cjs')], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  put(run('app.pid'), child.pid + '\n');
  child.once('exit', (code, signal) => {
    fs.appendFileSync(path.join(root, 'log', 'app.log'), 'supervise: pid ' + child.pid + ' exited (' + (signal || code) + ')\n');
    fs.rmSync(run('app.pid'), { force: true });
    child = undefined;
    if (!stopping) setTimeout(loop, 200);
  });
}
process.on('SIGTERM', () => {
  stopping = true;
  if (!child) process.exit(0);
  child.once('exit', () => process.exit(0));
  child.kill('SIGTERM');
});
put(run('supervise.pid'), process.pid + '\n');
loop();
`;

/**
 * `bin/trading-service start|stop|restart|status`: drives the service manager (run/down stops the
 * service, run/app.pid is the running pid). `start` returns once a new process runs — whether it
 * becomes healthy is the health check's business, as with systemctl.
 */
export const CONTROL_SH = String.raw`#!/bin/sh
# The trading service's control script on this host: start | stop | restart | status.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
pid() { p=$(cat "$root/run/app.pid" 2>/dev/null) && kill -0 "$p" 2>/dev/null && echo "$p"; }
release() { basename "$(readlink "$root/current")"; }
verb=""; [ "$#" -eq 0 ] || verb=$1
case "$verb" in
  start)
    rm -f "$root/run/down"
    i=0
    until pid >/dev/null; do
      i=$((i + 1)); [ "$i" -le 100 ] || { echo "trading-service: not started after 10 s" >&2; exit 1; }
      sleep 0.1
    done
    echo "trading-service $(release) started (pid $(pid))" ;;
  stop)
    touch "$root/run/down"
    if p=$(pid); then
      kill "$p"; i=0
      while kill -0 "$p" 2>/dev/null; do
        i=$((i + 1)); [ "$i" -le 100 ] || { kill -9 "$p" 2>/dev/null || true; break; }
        sleep 0.1
      done
    fi
    echo "trading-service stopped" ;;
  restart) "$0" stop >/dev/null; "$0" start ;;
  status)
    if p=$(pid); then echo "trading-service $(release) running (pid $p)"; else echo "trading-service $(release) not running"; exit 3; fi ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
`;
