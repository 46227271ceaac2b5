// Ansible inventories in both formats give the same hosts and vars, merged as Ansible merges them.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InventoryError, loadInventory, parseIniInventory, parseYamlInventory, selectHosts } from '../../src/inventory/index.js';

const YAML = `
all:
  vars:
    env: prod
    tier: none
  hosts:
    bastion:
      ansible_host: 10.0.0.1
  children:
    app:
      vars:
        tier: app
      children:
        web:
          hosts:
            web-[1:3]:
              ansible_user: deploy
          vars:
            tier: web
            port: 8080
        api:
          hosts:
            api-1: { ansible_host: 10.0.1.1, ansible_port: 2222, tier: api-host }
    db:
      hosts:
        db-1:
`;

const INI = `
bastion ansible_host=10.0.0.1

[web]
web-[1:3] ansible_user=deploy

[api]
api-1 ansible_host=10.0.1.1 ansible_port=2222 tier=api-host

[db]
db-1

[app:children]
web
api

[all:vars]
env=prod
tier=none

[app:vars]
tier=app

[web:vars]
tier=web
port=8080
`;

describe('inventory', () => {
  for (const [format, inv] of [
    ['yaml', () => parseYamlInventory(YAML, 'inv.yaml')],
    ['ini', () => parseIniInventory(INI, 'inv.ini')],
  ] as const) {
    it(`${format}: groups, children, ranges, host and group vars, ansible_host/port/user`, () => {
      const i = inv();
      expect(selectHosts(i, ['app']).map((h) => h.name)).toEqual(['web-1', 'web-2', 'web-3', 'api-1']);
      expect(selectHosts(i, ['all']).map((h) => h.name).sort()).toEqual(['api-1', 'bastion', 'db-1', 'web-1', 'web-2', 'web-3']);
      expect(selectHosts(i, ['db', 'web-2', 'db-1']).map((h) => h.name)).toEqual(['db-1', 'web-2']);
      const [web2] = selectHosts(i, ['web-2']);
      // The child group's vars win over the parent's, which win over all's.
      expect(web2).toMatchObject({ name: 'web-2', address: 'web-2', user: 'deploy', vars: { env: 'prod', tier: 'web' } });
      expect(String(web2.vars.port)).toBe('8080');
      const [api] = selectHosts(i, ['api']);
      expect(api).toMatchObject({ name: 'api-1', address: '10.0.1.1', port: 2222, vars: { tier: 'api-host', env: 'prod' } });
      expect(selectHosts(i, ['bastion'])[0]).toMatchObject({ address: '10.0.0.1', vars: { tier: 'none' } });
    });
  }

  it('a missing group is one clear error with a suggestion', () => {
    const i = parseYamlInventory(YAML, 'inv.yaml');
    expect(() => selectHosts(i, ['webb'])).toThrow("inv.yaml: has no group or host 'webb' (did you mean 'web'?)");
  });

  it('bad files name the file and line', () => {
    expect(() => parseIniInventory('[web]\nweb-1 port\n', 'x.ini')).toThrow(new InventoryError("expected key=value, got 'port'", 'x.ini', 2));
    expect(() => parseYamlInventory('all:\n  host:\n    a:\n', 'x.yaml')).toThrow("x.yaml: all: unknown key 'host' (a group has hosts, vars and children)");
    expect(() => loadInventory('/nonexistent/inv.yaml')).toThrow('/nonexistent/inv.yaml: inventory file not found');
  });

  it('reads group_vars/ and host_vars/ beside the file; format by extension or content', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-inv-'));
    writeFileSync(join(dir, 'hosts'), '[web]\nweb-1\n');
    mkdirSync(join(dir, 'group_vars'));
    mkdirSync(join(dir, 'host_vars'));
    writeFileSync(join(dir, 'group_vars', 'web.yml'), 'colour: blue\nsize: 1\n');
    writeFileSync(join(dir, 'host_vars', 'web-1.yaml'), 'size: 2\n');
    expect(selectHosts(loadInventory(join(dir, 'hosts')), ['web'])[0].vars).toEqual({ colour: 'blue', size: 2 });
    writeFileSync(join(dir, 'inventory'), 'all:\n  hosts:\n    h1:\n');
    expect(selectHosts(loadInventory(join(dir, 'inventory')), ['all'])[0].name).toBe('h1');
  });
});
