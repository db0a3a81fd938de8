import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import * as contracts from './index.js';
import { BUS_SERVICES, busPermissions, mayRequest, natsAuthorization } from './bus-permissions.js';
import type { RequestDef } from './catalog.js';
import { busTopology } from './topology.js';

const APPS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../apps');
const REQUESTS = new Map<string, RequestDef>();
for (const [name, value] of Object.entries(contracts) as Array<[string, unknown]>) {
  const kind = (value as Partial<RequestDef> | undefined)?.kind;
  if (typeof value === 'object' && (kind === 'cmd' || kind === 'qry')) REQUESTS.set(name, value as RequestDef);
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [path.join(dir, e.name)] : [],
  );
}

describe('bus permissions', () => {
  it.each(BUS_SERVICES)('let %s send every request its code names (the NATS server would refuse the others)', (service) => {
    const named = new Set(sources(path.join(APPS, service, 'src')).flatMap((f) => readFileSync(f, 'utf8').match(/\b[A-Z][A-Za-z0-9]+(Cmd|Qry)\b/g) ?? []));
    const used = [...named].filter((n) => REQUESTS.has(n));
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((n) => !mayRequest(service, REQUESTS.get(n)!))).toEqual([]);
  });

  it('give the kill-switch subjects and bucket to risk-service alone, and let nobody purge or delete a stream', () => {
    const topology = busTopology('t1');
    for (const service of BUS_SERVICES) {
      const { publish, subscribe } = busPermissions(topology, service);
      const own = service === 'risk-service';
      expect([service, publish.allow.includes('t1.risk.>'), publish.allow.includes('$KV.t1_KILL_SWITCH.>')]).toEqual([service, own, own]);
      expect(subscribe.allow.includes('t1.risk.qry.>')).toBe(own);
      expect(publish.allow.filter((s) => /STREAM\.(PURGE|DELETE|UPDATE)|MSG\.DELETE/.test(s))).toEqual([]);
    }
    expect(mayRequest('bot-service', contracts.KillSwitchActivateCmd)).toBe(false);
    expect(mayRequest('exchange-gateway', contracts.KillSwitchActivateCmd)).toBe(true);
  });

  it('write a configuration whose users carry their passwords', () => {
    const text = natsAuthorization(busTopology(), { 'risk-service': 'r', 'bot-service': 'b', 'exchange-gateway': 'g', 'audit-service': 'a' }, { admin: 'x' });
    const users = (JSON.parse(text.replace(/^authorization /, '')) as { users: Array<{ user: string; password: string }> }).users;
    expect(users.map((u) => [u.user, u.password])).toEqual([
      ['risk-service', 'r'],
      ['bot-service', 'b'],
      ['exchange-gateway', 'g'],
      ['audit-service', 'a'],
      ['admin', 'x'],
    ]);
  });
});
