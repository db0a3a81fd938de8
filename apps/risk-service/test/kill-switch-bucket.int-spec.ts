import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KV } from '@nats-io/kv';
import { connect, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { KillSwitchActivatingSig, busTopology, killSwitchKey, type Actor, type ScopeState } from '@garde/contracts';
import { JsonLogger, KillSwitchWatcher, MessageBus, openBucket, type ScopeChange } from '@garde/platform';
import { createSandbox, until, type TestSandbox } from '@garde/testing';
import { KillSwitchBucket } from '../src/state/kill-switch.bucket.js';

const rita: Actor = { id: 'rita', kind: 'operator', role: 'risk' };

function scopeState(scope: string, state: ScopeState['state'], version: number): ScopeState {
  return { scope, state, reason: `v${version}`, actor: rita, since: new Date().toISOString(), version };
}

/**
 * The KV bucket KILL_SWITCH against the real NATS: its writer (risk-service's KillSwitchBucket, a
 * libs/platform VersionedBucket like the RISK_LIMITS bucket's writer) never lets an older state
 * replace a newer one; the view every process keeps of it (libs/platform's KillSwitchWatcher) acts on
 * a write as it is published, before the watch delivers it, and the watch stays the record.
 */
describe('the KILL_SWITCH bucket', () => {
  let sandbox: TestSandbox;
  let nc: NatsConnection;
  let kv: KV;
  let watcher: KillSwitchWatcher;
  let bucket: string;
  const changes: ScopeChange[] = [];
  const put = (s: ScopeState) => kv.put(killSwitchKey(s.scope), JSON.stringify(s));
  /** A write of the bucket's subject straight on NATS, as KV sends it; with `h`, under these headers. */
  const rawWrite = (s: ScopeState, h?: MsgHdrs) =>
    nc.request(`$KV.${bucket}.${killSwitchKey(s.scope)}`, JSON.stringify(s), { timeout: 2000, ...(h ? { headers: h } : {}) });
  /** A write the stream refuses (wrong expected sequence): core subscribers see it go by, the watch never delivers it. */
  const refusedWrite = (s: ScopeState) => {
    const h = headers();
    h.set('Nats-Expected-Last-Subject-Sequence', '999999');
    return rawWrite(s, h);
  };
  /** The watcher's state of `scope` once `ok` holds (or after 5 s, as it is then). */
  const stateOf = (scope: string, ok: (s: ScopeState | undefined) => boolean) => until(() => Promise.resolve(watcher.get(scope)), ok, 5000, 10);

  let bus: MessageBus;
  const writer = () => new KillSwitchBucket(nc, bus);
  const stored = async (scope: string) => (await writer().get(scope))?.version;

  beforeAll(async () => {
    sandbox = await createSandbox('kswatch');
    nc = await connect({ servers: sandbox.natsUrl });
    const topology = busTopology(sandbox.namespace);
    bus = new MessageBus(nc, topology, 'risk-service/test', new JsonLogger('test', 'error').child('bus'));
    bucket = topology.killSwitchBucket;
    kv = await openBucket(nc, bucket, { history: 16 });
    await put(scopeState('global', 'ACTIVE', 1));
    watcher = new KillSwitchWatcher(nc, topology, new JsonLogger('test', 'error').child('kill-switch'), { announcements: true });
    watcher.onChange((c) => changes.push(c));
    await watcher.start();
  });
  afterAll(async () => {
    await watcher?.stop();
    await nc?.drain();
    await sandbox?.dispose();
  });

  it('keeps the newer of two versions of a scope, whichever is written last', async () => {
    const bucketWriter = writer();
    await bucketWriter.put(scopeState('bot:w-1', 'HALTED', 2));
    await bucketWriter.put(scopeState('bot:w-1', 'ACTIVE', 1));
    expect(await bucketWriter.get('bot:w-1')).toMatchObject({ state: 'HALTED', version: 2 });
    await bucketWriter.put(scopeState('bot:w-1', 'ACTIVE', 3));
    expect(await bucketWriter.get('bot:w-1')).toMatchObject({ state: 'ACTIVE', version: 3 });
  });

  it('keeps the newer version when two writers (replicas) race on one scope', async () => {
    const a = writer();
    const b = writer();
    await a.put(scopeState('bot:w-2', 'HALTED', 1));
    // b writes behind a's back: a's compare-and-set on the revision it knows fails, it reads again.
    await b.put(scopeState('bot:w-2', 'ACTIVE', 3));
    await a.put(scopeState('bot:w-2', 'HALTED', 2));
    expect(await stored('bot:w-2')).toBe(3);
    await a.put(scopeState('bot:w-2', 'HALTED', 4));
    expect(await b.get('bot:w-2')).toMatchObject({ state: 'HALTED', version: 4 });
    // All at once, in a scrambled order, from both.
    const versions = [9, 5, 8, 6, 7];
    await Promise.all(versions.map((v, i) => (i % 2 ? a : b).put(scopeState('bot:w-2', v % 2 ? 'HALTED' : 'ACTIVE', v))));
    expect(await stored('bot:w-2')).toBe(9);
  });

  it('acts on a write as it is published, before the stream stores it: a write the stream refuses is still seen', async () => {
    // The stream refuses this write (wrong expected sequence) but core subscribers see it go by: the
    // watcher took it from there, not from the watch, which never delivers it.
    const ack = await refusedWrite(scopeState('bot:early-1', 'HALTED', 1));
    expect(ack.json<{ error?: unknown }>().error).toBeDefined();
    expect(await stateOf('bot:early-1', (s) => s?.state === 'HALTED')).toMatchObject({ state: 'HALTED', version: 1 });
    expect(watcher.effective({ botId: 'early-1', exchangeId: 'x' }).state).toBe('HALTED');
    expect(changes.filter((c) => c.scope === 'bot:early-1').map((c) => c.state.state)).toEqual(['HALTED']);
  });

  it('keeps the newer of an early write and an older write the watch delivers late, then follows the watch again', async () => {
    const scope = 'bot:order-1';
    await put(scopeState(scope, 'HALTED', 1));
    expect(await stateOf(scope, (s) => s?.version === 1)).toMatchObject({ state: 'HALTED', version: 1 });
    // Version 3 seen early (refused by the stream here, so that its entry never comes by itself).
    await refusedWrite(scopeState(scope, 'ACTIVE', 3));
    expect(await stateOf(scope, (s) => s?.version === 3)).toMatchObject({ state: 'ACTIVE', version: 3 });
    // Version 2, stored after it: an older change delivered late. Not applied over version 3.
    await put(scopeState(scope, 'HALTED', 2));
    await nc.flush();
    await new Promise((r) => setTimeout(r, 200));
    expect(watcher.get(scope)).toMatchObject({ state: 'ACTIVE', version: 3 });
    // An early write of an older version than the one held is ignored too.
    await refusedWrite(scopeState(scope, 'HALTED', 2));
    await new Promise((r) => setTimeout(r, 200));
    expect(watcher.get(scope)).toMatchObject({ state: 'ACTIVE', version: 3 });
    // Its own entry stored: the watch confirms it, and from then on the bucket's order is the record.
    await put(scopeState(scope, 'ACTIVE', 3));
    await put(scopeState(scope, 'HALTED', 4));
    expect(await stateOf(scope, (s) => s?.version === 4)).toMatchObject({ state: 'HALTED', version: 4 });
    expect(changes.filter((c) => c.scope === scope).map((c) => `${c.state.state}@${c.state.version}`)).toEqual(['HALTED@1', 'ACTIVE@3', 'HALTED@4']);
  });

  describe('an activation announced before it is recorded (KillSwitchActivatingSig)', () => {
    /** Announces an activation as risk-service does once it has accepted one; answers its `requestedAt`. */
    const announce = (scope: string, state: 'HALTED' | 'REDUCING' = 'HALTED', at = new Date()) => {
      bus.signal(KillSwitchActivatingSig, { scope, state, reason: 'runaway bot', actor: rita, requestedAt: at.toISOString() }, {});
      return at;
    };
    const recordedAt = (scope: string, state: ScopeState['state'], version: number, since: Date): ScopeState => ({
      ...scopeState(scope, state, version),
      since: since.toISOString(),
    });
    const effectiveOf = (botId: string, state: string) =>
      until(
        () => Promise.resolve(watcher.effective({ exchangeId: 'binance', botId })),
        (e) => e.state === state,
        5000,
        5,
      );

    it('refuses at once, before the bucket holds it; the write of the activation then replaces it', async () => {
      const at = announce('bot:p-1');
      expect(await effectiveOf('p-1', 'HALTED')).toMatchObject({ imposedBy: { scope: 'bot:p-1', reason: 'runaway bot', since: at.toISOString() } });
      // Only what is recorded is shown and reported as a change.
      expect(watcher.get('bot:p-1')).toBeUndefined();
      expect(changes.some((c) => c.scope === 'bot:p-1')).toBe(false);
      await put(recordedAt('bot:p-1', 'HALTED', 1, at));
      expect(await stateOf('bot:p-1', (s) => s?.version === 1)).toMatchObject({ state: 'HALTED' });
      // A deactivation recorded after it: the pending activation is over, orders pass again.
      await put(recordedAt('bot:p-1', 'ACTIVE', 2, new Date(at.getTime() + 1)));
      expect((await effectiveOf('p-1', 'ACTIVE')).state).toBe('ACTIVE');
    });

    it('is not ended by a write made before it was accepted (an older write delivered late)', async () => {
      const at = announce('bot:p-2', 'REDUCING');
      expect((await effectiveOf('p-2', 'REDUCING')).state).toBe('REDUCING');
      await put(recordedAt('bot:p-2', 'ACTIVE', 1, new Date(at.getTime() - 50)));
      await stateOf('bot:p-2', (s) => s?.version === 1);
      expect(watcher.effective({ exchangeId: 'binance', botId: 'p-2' }).state).toBe('REDUCING');
      // The recorded activation takes over, and a more restrictive record wins over it.
      await put(recordedAt('bot:p-2', 'HALTED', 2, at));
      expect((await effectiveOf('p-2', 'HALTED')).state).toBe('HALTED');
    });

    it('stops counting when it is never recorded, and says so; not when its scope was already as restrictive', async () => {
      const log = new JsonLogger('test', 'error').child('kill-switch');
      const short = new KillSwitchWatcher(nc, bus.topology, log, { announcements: true, pendingTtlMs: 300 });
      // Without the option (bot-service: it persists what the kill switch implies), records only.
      const recordsOnly = new KillSwitchWatcher(nc, bus.topology, log);
      const pending: Array<[string, string]> = [];
      short.onPending((what, p) => pending.push([what, p.state.scope]));
      await Promise.all([short.start(), recordsOnly.start()]);
      try {
        // Recorded a second ago: an announcement made in the same millisecond would count as recorded already.
        await put(recordedAt('bot:p-4', 'HALTED', 1, new Date(Date.now() - 1000)));
        await until(
          () => Promise.resolve(short.get('bot:p-4')),
          (s) => s !== undefined,
          5000,
          5,
        );
        announce('bot:p-3');
        announce('bot:p-4'); // already HALTED: an activation that changes nothing is never recorded again
        const target = (botId: string) => ({ exchangeId: 'binance', botId });
        await until(
          () => Promise.resolve(short.effective(target('p-3')).state),
          (s) => s === 'HALTED',
          5000,
          5,
        );
        expect(recordsOnly.effective(target('p-3')).state).toBe('ACTIVE');
        await new Promise((r) => setTimeout(r, 400));
        expect([short.effective(target('p-3')).state, short.effective(target('p-4')).state]).toEqual(['ACTIVE', 'HALTED']);
        expect(pending).toEqual([
          ['announced', 'bot:p-3'],
          ['announced', 'bot:p-4'],
          ['expired', 'bot:p-3'],
        ]);
      } finally {
        await Promise.all([short.stop(), recordsOnly.stop()]);
      }
    });
  });

  it('says it stopped following when stopped, without the warning of a state lost (a service shutting down)', async () => {
    const lines: Array<{ level: string; msg: string }> = [];
    const log = new JsonLogger('test', 'info', (line) => lines.push(JSON.parse(line) as { level: string; msg: string })).child('kill-switch');
    const own = new KillSwitchWatcher(nc, bus.topology, log);
    await own.start();
    expect(own.known).toBe(true);
    await own.stop();
    expect(own.known).toBe(false);
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
    expect(lines.map((l) => l.msg)).toEqual(['kill-switch state known', 'kill-switch state no longer followed: stopping']);
  });

  it('takes no early write once stopped (fail-closed: the state is unknown then)', async () => {
    await watcher.stop();
    expect(watcher.known).toBe(false);
    await rawWrite(scopeState('bot:late-1', 'HALTED', 1));
    await new Promise((r) => setTimeout(r, 200));
    expect(watcher.get('bot:late-1')).toBeUndefined();
  });
});
