// docs/dsl.md §11 (Hosts) must match the code: its inventory example reads the same in its YAML and
// INI forms, and its connections and `on:` step, put together with that inventory, validate.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allDiagnostics, loadRunbook } from '../../src/dsl/validate.js';
import { loadInventory, selectHosts } from '../../src/inventory/index.js';

const md = readFileSync(new URL('../../docs/dsl.md', import.meta.url), 'utf8');
const chapter = md.slice(md.indexOf('## 11. Hosts'));
const blocks = [...chapter.matchAll(/```(yaml|ini)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], text: m[2] }));
const block = (lang: string, start: string) => {
  const b = blocks.find((x) => x.lang === lang && x.text.startsWith(start));
  if (!b) throw new Error(`docs/dsl.md §11: no ${lang} block starting with ${start}`);
  return b.text;
};
const dir = mkdtempSync(join(tmpdir(), 'rb-docs-hosts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docs/dsl.md §11 Hosts', () => {
  it('is in the table of contents', () => {
    expect(md).toContain('- [11. Hosts: SSH targets and fan-out](#11-hosts-ssh-targets-and-fan-out)');
  });

  it('gives one inventory in YAML and INI: the same hosts, addresses, ports, users and vars', () => {
    writeFileSync(join(dir, 'inventory.yaml'), block('yaml', '# inventory.yaml'));
    writeFileSync(join(dir, 'inventory.ini'), block('ini', '# inventory.ini'));
    const yaml = loadInventory(join(dir, 'inventory.yaml'));
    const ini = loadInventory(join(dir, 'inventory.ini'));
    const view = (inv: typeof yaml) =>
      selectHosts(inv, ['trademaster']).map((h) => ({ name: h.name, address: h.address, port: h.port, user: h.user, app_dir: h.vars.app_dir, pg_port: h.vars.pg_port }));
    expect(view(yaml)).toEqual([
      { name: 'db-1', address: '10.20.0.5', port: undefined, user: 'postgres', app_dir: '/opt/trademaster', pg_port: 5432 },
      { name: 'app-1', address: '10.20.1.11', port: undefined, user: 'deploy', app_dir: '/opt/trademaster', pg_port: undefined },
      { name: 'app-2', address: '10.20.1.12', port: undefined, user: 'deploy', app_dir: '/opt/trademaster', pg_port: undefined },
      { name: 'app-3', address: '10.20.1.13', port: 2222, user: 'deploy', app_dir: '/opt/trademaster', pg_port: undefined },
    ]);
    expect(view(ini)).toEqual(view(yaml));
  });

  it("its connections and on: step validate against that inventory, and a bad group is caught at its place", () => {
    writeFileSync(join(dir, 'inventory.yaml'), block('yaml', '# inventory.yaml'));
    const connections = block('yaml', 'inventory: ./inventory.yaml');
    const step = block('yaml', '- id: restart').replace(/^/gm, '      ');
    const runbook = `runbook: hosts-doc\n${connections}phases:\n  - id: p\n    steps:\n${step}`;
    writeFileSync(join(dir, 'rb.yaml'), runbook);
    const loaded = loadRunbook(join(dir, 'rb.yaml'));
    expect(allDiagnostics(loaded)).toEqual([]);
    const s = loaded.model!.steps.get('restart')!;
    expect(s.on?.connection).toBe('app');
    expect(s.concurrency).toBe(2);

    writeFileSync(join(dir, 'bad.yaml'), runbook.replace('hosts: app,', 'hosts: apps,'));
    const bad = allDiagnostics(loadRunbook(join(dir, 'bad.yaml')));
    expect(bad).toEqual([expect.objectContaining({ code: 'INVENTORY_GROUP', message: expect.stringContaining("has no group or host 'apps'") })]);
  });
});
