/**
 * The store contract (DESIGN.md, Storage: "One contract suite runs every repository against both"):
 * every repository method, on PGlite always and on PostgreSQL when HERALD_TEST_DB_URL is set.
 */
import type { Knex } from 'knex';
import type { PresRule, Publication, Registration, Subscription, WatcherRecord } from '../../src/presence/model';
import type { Store } from '../../src/presence/ports';
import { createKnex } from '../../src/store/db';
import { MIGRATIONS } from '../../migrations';
import { migrateDown, migrateLatest } from '../../src/store/migrate';
import { ALL_TABLES } from '../../src/store/rows';
import { createStore } from '../../src/store/store';
import { backends, dropTestDb } from '../support/db';

/** After 2^31, so every time column must really be a bigint. */
const NOW = 1_700_000_000_000;
const ALICE = 'sip:alice@example.com';

const pub = (o: Partial<Publication> = {}): Publication => ({
  presentity: ALICE, event: 'presence', etag: 'e1', body: '<presence/>', contentType: 'application/pidf+xml',
  source: 'sip', client: null, receivedAt: NOW - 1000, expiresAt: NOW + 60_000, ...o,
});
const sub = (o: Partial<Subscription> = {}): Subscription => ({
  id: 's1', presentity: ALICE, event: 'presence', eventId: null, watcher: 'sip:bob@example.org',
  watcherDisplayName: 'Bob', callId: 'c1', remoteTag: 'rt1', localTag: 'lt1', remoteUri: 'sip:bob@example.org',
  localUri: ALICE, remoteCseq: 1, localCseq: 0, remoteTarget: 'sip:bob@10.0.0.2:5060',
  routeSet: ['<sip:p1.example.org;lr>', '<sip:p2.example.com;lr>'], contactInstance: null,
  via: { transport: 'udp', host: '10.0.0.2', port: 5060, connectionId: null }, state: 'active', reason: null,
  expiresAt: NOW + 3600_000, version: 0, node: 'n1', createdAt: NOW, updatedAt: NOW, ...o,
});
const watcher = (o: Partial<WatcherRecord> = {}): WatcherRecord => ({
  presentity: ALICE, watcher: 'sip:bob@example.org', watcherDisplayName: null, event: 'presence',
  subscriptionId: 's1', status: 'pending', lastEvent: 'subscribe', createdAt: NOW, updatedAt: NOW, ...o,
});
const rule = (o: Partial<PresRule> = {}): PresRule => ({
  presentity: ALICE, watcher: 'sip:bob@example.org', action: 'allow', updatedAt: NOW, ...o,
});
const reg = (o: Partial<Registration> = {}): Registration => ({
  aor: ALICE, contact: 'sip:alice@10.0.0.1:5060', instance: null, callId: 'r1', cseq: 1,
  via: { transport: 'tcp', host: '10.0.0.1', port: 5060, connectionId: 'conn-7' }, expiresAt: NOW + 3600_000, ...o,
});
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe.each(backends())('store contract on $name', ({ name, url }) => {
  let dbUrl: string;
  let knex: Knex;
  let store: Store;

  beforeAll(async () => {
    dbUrl = await url();
    knex = createKnex(dbUrl);
    await migrateLatest(knex);
    store = createStore(knex);
  });
  afterAll(async () => {
    await store.close();
    await dropTestDb(dbUrl);
  });
  beforeEach(async () => {
    await knex.raw(`TRUNCATE ${ALL_TABLES.map(() => '??').join(', ')}`, [...ALL_TABLES]);
  });

  describe('migrations', () => {
    it('migrateLatest is a no-op on an up-to-date database', async () => {
      expect(await migrateLatest(knex)).toEqual([]);
    });

    it('the embedded PGlite runs with the small-footprint settings (shared_buffers 16MB)', async () => {
      const r = await knex.raw<{ rows: Array<{ shared_buffers: string }> }>('SHOW shared_buffers');
      // PostgreSQL is the operator's server with its own settings; only PGlite is Herald's to size.
      if (name === 'pglite') expect(r.rows[0]?.shared_buffers).toBe('16MB');
      else expect(r.rows[0]?.shared_buffers).toMatch(/B$/);
    });

    it('active_watchers keeps room for in-place (HOT) updates of its rows', async () => {
      const r = await knex.raw<{ rows: Array<{ reloptions: string[] | null }> }>("SELECT reloptions FROM pg_class WHERE relname = 'active_watchers'");
      expect(r.rows[0]?.reloptions).toEqual(['fillfactor=70']);
    });

    it('migrate down then up works', async () => {
      const u = await url();
      const k = createKnex(u);
      try {
        expect((await migrateLatest(k)).length).toBeGreaterThanOrEqual(5);
        const undone = await migrateDown(k, { all: true });
        expect(undone.length).toBeGreaterThanOrEqual(5);
        for (const t of ALL_TABLES) expect(await k.schema.hasTable(t)).toBe(false);
        await migrateLatest(k);
        const s = createStore(k);
        await s.publications.insert(pub());
        expect(await s.publications.live(ALICE, 'presence', NOW)).toHaveLength(1);
        // One step down undoes only the newest migration, and latest applies it again.
        const newest = MIGRATIONS[MIGRATIONS.length - 1]?.name;
        expect(await migrateDown(k)).toEqual([newest]);
        expect(await migrateLatest(k)).toEqual([newest]);
      } finally {
        await k.destroy();
        await dropTestDb(u);
      }
    });
  });

  describe('publications', () => {
    it('updateLive changes only a live row with that entity-tag and returns it', async () => {
      await store.publications.insert(pub({ etag: 'e1' }));
      await store.publications.insert(pub({ etag: 'old', expiresAt: NOW }));
      const refreshed = await store.publications.updateLive(ALICE, 'presence', 'e1', NOW, { etag: 'e2', expiresAt: NOW + 5 });
      expect(refreshed).toEqual(pub({ etag: 'e2', expiresAt: NOW + 5 }));
      const modified = await store.publications.updateLive(ALICE, 'presence', 'e2', NOW, { etag: 'e3', expiresAt: NOW + 9, body: '<x/>', receivedAt: NOW });
      expect(modified).toEqual(pub({ etag: 'e3', expiresAt: NOW + 9, body: '<x/>', receivedAt: NOW }));
      expect(await store.publications.updateLive(ALICE, 'presence', 'e1', NOW, { etag: 'e4', expiresAt: NOW + 5 })).toBeUndefined();
      expect(await store.publications.updateLive(ALICE, 'presence', 'old', NOW, { etag: 'e5', expiresAt: NOW + 5 })).toBeUndefined();
      expect(await store.publications.updateLive('sip:other@example.org', 'presence', 'e3', NOW, { etag: 'e6', expiresAt: NOW + 5 })).toBeUndefined();
    });

    it('removeLive deletes a live row with that entity-tag once and returns it', async () => {
      await store.publications.insert(pub({ etag: 'e1' }));
      await store.publications.insert(pub({ etag: 'old', expiresAt: NOW }));
      expect(await store.publications.removeLive(ALICE, 'presence', 'e1', NOW)).toEqual(pub({ etag: 'e1' }));
      expect(await store.publications.removeLive(ALICE, 'presence', 'e1', NOW)).toBeUndefined();
      expect(await store.publications.removeLive(ALICE, 'presence', 'old', NOW)).toBeUndefined();
    });

    it('live() leaves out expired publications, oldest receivedAt first', async () => {
      await store.publications.insert(pub({ etag: 'late', receivedAt: NOW - 10 }));
      await store.publications.insert(pub({ etag: 'early', receivedAt: NOW - 500 }));
      await store.publications.insert(pub({ etag: 'gone', expiresAt: NOW }));
      await store.publications.insert(pub({ etag: 'other-event', event: 'dialog' }));
      const live = await store.publications.live(ALICE, 'presence', NOW);
      expect(live.map((p) => p.etag)).toEqual(['early', 'late']);
      expect(live[0]).toEqual(pub({ etag: 'early', receivedAt: NOW - 500 }));
    });

    it('byEtag finds a live publication by entity-tag, not an expired one', async () => {
      await store.publications.insert(pub({ etag: 'a' }));
      await store.publications.insert(pub({ etag: 'b', expiresAt: NOW - 1 }));
      expect((await store.publications.byEtag(ALICE, 'presence', 'a', NOW))?.etag).toBe('a');
      expect(await store.publications.byEtag(ALICE, 'presence', 'b', NOW)).toBeUndefined();
      expect(await store.publications.byEtag(ALICE, 'presence', 'zzz', NOW)).toBeUndefined();
    });

    it('byClient finds only the live HTTP publication of that client', async () => {
      await store.publications.insert(pub({ etag: 'sip', client: 'web-1' }));
      await store.publications.insert(pub({ etag: 'h1', source: 'http', client: 'web-1' }));
      await store.publications.insert(pub({ etag: 'h2', source: 'http', client: 'web-2', expiresAt: NOW }));
      expect((await store.publications.byClient(ALICE, 'presence', 'web-1', NOW))?.etag).toBe('h1');
      expect(await store.publications.byClient(ALICE, 'presence', 'web-2', NOW)).toBeUndefined();
    });

    it('insert rejects a second publication with the same entity-tag', async () => {
      await store.publications.insert(pub());
      await expect(store.publications.insert(pub())).rejects.toThrow();
    });

    it('replace hands the publication a new entity-tag and is false once the old one is gone', async () => {
      await store.publications.insert(pub({ etag: 'old' }));
      const next = pub({ etag: 'new', body: '<presence>2</presence>', expiresAt: NOW + 99_000 });
      expect(await store.publications.replace(ALICE, 'presence', 'old', next)).toBe(true);
      expect(await store.publications.live(ALICE, 'presence', NOW)).toEqual([next]);
      expect(await store.publications.replace(ALICE, 'presence', 'old', pub({ etag: 'x' }))).toBe(false);
    });

    it('remove is true for an existing publication and false afterwards', async () => {
      await store.publications.insert(pub());
      expect(await store.publications.remove(ALICE, 'presence', 'e1')).toBe(true);
      expect(await store.publications.remove(ALICE, 'presence', 'e1')).toBe(false);
    });

    it('takeExpired deletes and returns expired publications only, up to the limit, soonest first', async () => {
      for (const i of range(5)) await store.publications.insert(pub({ etag: `x${i}`, expiresAt: NOW - 100 + i }));
      await store.publications.insert(pub({ etag: 'live' }));
      const first = await store.publications.takeExpired(NOW, 3);
      expect(first.map((p) => p.etag)).toEqual(['x0', 'x1', 'x2']);
      expect((await store.publications.takeExpired(NOW, 10)).map((p) => p.etag)).toEqual(['x3', 'x4']);
      expect(await store.publications.takeExpired(NOW, 10)).toEqual([]);
      expect(await store.publications.live(ALICE, 'presence', NOW)).toHaveLength(1);
    });

    it('takeExpired returns each expired row once even when called concurrently', async () => {
      await store.transaction(async (tx) => {
        for (const i of range(60)) await tx.publications.insert(pub({ etag: `x${i}`, expiresAt: NOW - i }));
      });
      const seen: string[] = [];
      const batches = await Promise.all(range(10).map(() => store.publications.takeExpired(NOW, 7)));
      for (const b of batches) seen.push(...b.map((p) => p.etag));
      for (;;) {
        const rest = await store.publications.takeExpired(NOW, 7);
        if (rest.length === 0) break;
        seen.push(...rest.map((p) => p.etag));
      }
      expect(seen).toHaveLength(60);
      expect(new Set(seen).size).toBe(60);
    });

    it('presentities lists distinct live presentities sorted, by domain, after a cursor', async () => {
      const aors = ['sip:b@x.org', 'sip:a@x.org', 'sip:c@y.org', 'sip:B@x.org', 'sip:d@x_org'];
      for (const a of aors) await store.publications.insert(pub({ presentity: a }));
      await store.publications.insert(pub({ presentity: 'sip:a@x.org', etag: 'second' }));
      await store.publications.insert(pub({ presentity: 'sip:dead@x.org', expiresAt: NOW }));
      const all = await store.publications.presentities({ limit: 10, now: NOW });
      expect(all).toEqual(['sip:B@x.org', 'sip:a@x.org', 'sip:b@x.org', 'sip:c@y.org', 'sip:d@x_org']);
      expect(await store.publications.presentities({ domain: 'x.org', limit: 10, now: NOW })).toEqual([
        'sip:B@x.org', 'sip:a@x.org', 'sip:b@x.org',
      ]);
      expect(await store.publications.presentities({ domain: 'x.org', after: 'sip:B@x.org', limit: 1, now: NOW })).toEqual([
        'sip:a@x.org',
      ]);
    });
  });

  describe('subscriptions', () => {
    it('insert and byId round-trip every field, route set in order', async () => {
      const s = sub({ eventId: 'ev1', contactInstance: '<urn:uuid:1>', via: { transport: 'tcp', host: 'h', port: 5, connectionId: 'c' } });
      await store.subscriptions.insert(s);
      expect(await store.subscriptions.byId('s1')).toEqual(s);
      expect(await store.subscriptions.byId('nope')).toBeUndefined();
    });

    it('byDialog matches Call-ID, local tag and remote tag together', async () => {
      await store.subscriptions.insert(sub());
      expect((await store.subscriptions.byDialog('c1', 'lt1', 'rt1'))?.id).toBe('s1');
      expect(await store.subscriptions.byDialog('c1', 'rt1', 'lt1')).toBeUndefined();
      expect(await store.subscriptions.byDialog('c2', 'lt1', 'rt1')).toBeUndefined();
    });

    it('forPresentity returns live, non-terminated subscriptions to that event', async () => {
      await store.subscriptions.insert(sub({ id: 'a', callId: 'a' }));
      await store.subscriptions.insert(sub({ id: 'b', callId: 'b', state: 'pending', createdAt: NOW + 1 }));
      await store.subscriptions.insert(sub({ id: 'c', callId: 'c', state: 'terminated', reason: 'timeout' }));
      await store.subscriptions.insert(sub({ id: 'd', callId: 'd', expiresAt: NOW }));
      await store.subscriptions.insert(sub({ id: 'e', callId: 'e', event: 'presence.winfo' }));
      expect((await store.subscriptions.forPresentity(ALICE, 'presence', NOW)).map((s) => s.id)).toEqual(['a', 'b']);
    });

    it('sameDevice matches the same contact or the same +sip.instance', async () => {
      await store.subscriptions.insert(sub({ id: 'a', callId: 'a', contactInstance: '<urn:uuid:1>' }));
      await store.subscriptions.insert(sub({ id: 'b', callId: 'b', remoteTarget: 'sip:bob@10.9.9.9' }));
      await store.subscriptions.insert(sub({ id: 'c', callId: 'c', watcher: 'sip:carol@example.org' }));
      const byContact = await store.subscriptions.sameDevice(ALICE, 'presence', 'sip:bob@example.org', 'sip:bob@10.0.0.2:5060', null);
      expect(byContact.map((s) => s.id)).toEqual(['a']);
      const byInstance = await store.subscriptions.sameDevice(ALICE, 'presence', 'sip:bob@example.org', 'sip:bob@new', '<urn:uuid:1>');
      expect(byInstance.map((s) => s.id)).toEqual(['a']);
    });

    it('update changes only the patched fields', async () => {
      await store.subscriptions.insert(sub());
      const via = { transport: 'tcp' as const, host: '10.1.1.1', port: 5070, connectionId: 'k9' };
      await store.subscriptions.update('s1', { state: 'terminated', reason: 'timeout', via, expiresAt: NOW + 5, updatedAt: NOW + 1 });
      await store.subscriptions.update('s1', {});
      expect(await store.subscriptions.byId('s1')).toEqual(
        sub({ state: 'terminated', reason: 'timeout', via, expiresAt: NOW + 5, updatedAt: NOW + 1 }),
      );
    });

    it('nextCseq increments atomically under 50 concurrent calls', async () => {
      await store.subscriptions.insert(sub({ localCseq: 100 }));
      const got = await Promise.all(range(50).map(() => store.subscriptions.nextCseq('s1')));
      expect([...got].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(range(50).map((i) => 101 + i));
      expect((await store.subscriptions.byId('s1'))?.localCseq).toBe(150);
      expect(await store.subscriptions.nextCseq('gone')).toBeUndefined();
    });

    it('nextCseqs bumps many subscriptions in one call, leaving out the ones that are gone', async () => {
      await store.subscriptions.insert(sub({ localCseq: 7 }));
      await store.subscriptions.insert(sub({ id: 's2', callId: 'c2', localTag: 'l2', localCseq: 1 }));
      const got = await store.subscriptions.nextCseqs(['s1', 's2', 'gone']);
      expect([...got.entries()].sort()).toEqual([['s1', 8], ['s2', 2]]);
      expect(await store.subscriptions.nextCseqs([])).toEqual(new Map());
    });

    it('nextVersion increments the watcherinfo version and is undefined once gone', async () => {
      await store.subscriptions.insert(sub());
      expect(await store.subscriptions.nextVersion('s1')).toBe(1);
      expect(await store.subscriptions.nextVersion('s1')).toBe(2);
      expect(await store.subscriptions.nextVersion('gone')).toBeUndefined();
    });

    it('claimActive returns the live active subscriptions oldest first, each with its next CSeq taken', async () => {
      await store.subscriptions.insert(sub({ id: 'b', createdAt: NOW + 2, localCseq: 4 }));
      await store.subscriptions.insert(sub({ id: 'a', callId: 'c2', createdAt: NOW + 1 }));
      await store.subscriptions.insert(sub({ id: 'p', callId: 'c3', state: 'pending' }));
      await store.subscriptions.insert(sub({ id: 'x', callId: 'c4', expiresAt: NOW - 1 }));
      await store.subscriptions.insert(sub({ id: 'w', callId: 'c5', event: 'presence.winfo' }));
      const [first, other] = await Promise.all([store.subscriptions.claimActive(ALICE, 'presence', NOW), store.subscriptions.claimActive('sip:nobody@example.com', 'presence', NOW)]);
      expect(first.map((s) => [s.id, s.localCseq])).toEqual([['a', 1], ['b', 5]]);
      expect(other).toEqual([]);
      expect((await store.subscriptions.claimActive(ALICE, 'presence', NOW)).map((s) => s.localCseq)).toEqual([2, 6]);
      expect((await store.subscriptions.byId('p'))?.localCseq).toBe(0);
    });

    it('countFor counts the live, non-terminated subscriptions of each presentity in one turn', async () => {
      await store.subscriptions.insert(sub());
      await store.subscriptions.insert(sub({ id: 's2', callId: 'c2' }));
      await store.subscriptions.insert(sub({ id: 's3', callId: 'c3', state: 'terminated' }));
      await store.subscriptions.insert(sub({ id: 's4', callId: 'c4', expiresAt: NOW - 1 }));
      const counts = await Promise.all([ALICE, 'sip:nobody@example.com'].map((p) => store.subscriptions.countFor(p, 'presence', NOW)));
      expect(counts).toEqual([2, 0]);
    });

    it('take deletes a subscription and returns it with its last CSeq, once', async () => {
      await store.subscriptions.insert(sub({ localCseq: 1 }));
      await store.subscriptions.nextCseq('s1');
      expect(await store.subscriptions.take('s1')).toMatchObject({ id: 's1', localCseq: 2, routeSet: sub().routeSet });
      expect(await store.subscriptions.take('s1')).toBeUndefined();
      expect(await store.subscriptions.byId('s1')).toBeUndefined();
    });

    it('sameDevice calls of one turn each get their own device matches', async () => {
      await store.subscriptions.insert(sub());
      await store.subscriptions.insert(sub({ id: 's2', callId: 'c2', remoteTarget: 'sip:bob@10.0.0.3', contactInstance: '<urn:uuid:1>' }));
      const [byContact, byInstance, neither] = await Promise.all([
        store.subscriptions.sameDevice(ALICE, 'presence', 'sip:bob@example.org', 'sip:bob@10.0.0.2:5060', null),
        store.subscriptions.sameDevice(ALICE, 'presence', 'sip:bob@example.org', 'sip:bob@10.9.9.9', '<urn:uuid:1>'),
        store.subscriptions.sameDevice(ALICE, 'presence', 'sip:bob@example.org', 'sip:bob@10.9.9.9', null),
      ]);
      expect([byContact.map((x) => x.id), byInstance.map((x) => x.id), neither]).toEqual([['s1'], ['s2'], []]);
    });

    it('remove is true once, then false', async () => {
      await store.subscriptions.insert(sub());
      expect(await store.subscriptions.remove('s1')).toBe(true);
      expect(await store.subscriptions.remove('s1')).toBe(false);
    });

    it('takeExpired returns each expired subscription once even when called concurrently', async () => {
      await store.transaction(async (tx) => {
        for (const i of range(40)) await tx.subscriptions.insert(sub({ id: `x${i}`, callId: `x${i}`, expiresAt: NOW - i }));
        await tx.subscriptions.insert(sub({ id: 'live', callId: 'live' }));
      });
      const batches = await Promise.all(range(8).map(() => store.subscriptions.takeExpired(NOW, 6)));
      const seen = batches.flat().map((s) => s.id);
      for (let rest = await store.subscriptions.takeExpired(NOW, 6); rest.length; rest = await store.subscriptions.takeExpired(NOW, 6)) {
        seen.push(...rest.map((s) => s.id));
      }
      expect(new Set(seen).size).toBe(40);
      expect(seen).toHaveLength(40);
      expect(await store.subscriptions.byId('live')).toBeDefined();
    });

    it('forWatcher matches an AOR exactly or every AOR of a domain', async () => {
      await store.subscriptions.insert(sub({ id: 'a', callId: 'a', watcher: 'sip:bob@example.org' }));
      await store.subscriptions.insert(sub({ id: 'b', callId: 'b', watcher: 'sip:carol@example.org' }));
      await store.subscriptions.insert(sub({ id: 'c', callId: 'c', watcher: 'sip:bob@exampleXorg' }));
      await store.subscriptions.insert(sub({ id: 'd', callId: 'd', watcher: 'sip:dave@example.org', state: 'terminated' }));
      const ids = async (w: string): Promise<string[]> => (await store.subscriptions.forWatcher(ALICE, w, NOW)).map((s) => s.id);
      expect(await ids('sip:bob@example.org')).toEqual(['a']);
      expect(await ids('example.org')).toEqual(['a', 'b']);
    });

    it('count counts live subscriptions', async () => {
      await store.subscriptions.insert(sub({ id: 'a', callId: 'a' }));
      await store.subscriptions.insert(sub({ id: 'b', callId: 'b', expiresAt: NOW - 1 }));
      expect(await store.subscriptions.count(NOW)).toBe(1);
    });
  });

  describe('watchers', () => {
    it('upsert inserts, then updates in place keeping createdAt', async () => {
      await store.watchers.upsert(watcher());
      await store.watchers.upsert(watcher({ subscriptionId: 's0', createdAt: NOW - 5 }));
      await store.watchers.upsert(watcher({ status: 'active', lastEvent: 'approved', createdAt: NOW + 9, updatedAt: NOW + 9 }));
      expect(await store.watchers.list(ALICE, 'presence')).toEqual([
        watcher({ subscriptionId: 's0', createdAt: NOW - 5 }),
        watcher({ status: 'active', lastEvent: 'approved', updatedAt: NOW + 9 }),
      ]);
    });

    it('remove deletes one watcher record', async () => {
      await store.watchers.upsert(watcher());
      await store.watchers.remove(ALICE, 'presence', 's1');
      await store.watchers.remove(ALICE, 'presence', 's1');
      expect(await store.watchers.list(ALICE, 'presence')).toEqual([]);
    });

    it('prune deletes terminated records older than `before`, up to the limit', async () => {
      for (const i of range(4)) await store.watchers.upsert(watcher({ subscriptionId: `t${i}`, status: 'terminated', updatedAt: NOW - 10 }));
      await store.watchers.upsert(watcher({ subscriptionId: 'recent', status: 'terminated', updatedAt: NOW }));
      await store.watchers.upsert(watcher({ subscriptionId: 'active', status: 'active', updatedAt: NOW - 10 }));
      expect(await store.watchers.prune(NOW, 3)).toBe(3);
      expect(await store.watchers.prune(NOW, 3)).toBe(1);
      expect((await store.watchers.list(ALICE, 'presence')).map((w) => w.subscriptionId).sort()).toEqual(['active', 'recent']);
    });
  });

  describe('pres rules', () => {
    it('ruleFor prefers the exact watcher AOR, else its domain, else nothing', async () => {
      await store.rules.put(rule({ watcher: 'example.org', action: 'block' }));
      expect((await store.rules.ruleFor(ALICE, 'sip:bob@example.org'))?.action).toBe('block');
      await store.rules.put(rule({ watcher: 'sip:bob@example.org', action: 'allow' }));
      expect((await store.rules.ruleFor(ALICE, 'sip:bob@example.org'))?.action).toBe('allow');
      expect((await store.rules.ruleFor(ALICE, 'sip:eve@example.org'))?.action).toBe('block');
      expect(await store.rules.ruleFor(ALICE, 'sip:eve@elsewhere.net')).toBeUndefined();
      expect(await store.rules.ruleFor('sip:zed@example.com', 'sip:bob@example.org')).toBeUndefined();
    });

    it('put replaces, list sorts by watcher, remove reports whether a rule existed', async () => {
      await store.rules.put(rule({ watcher: 'z.org' }));
      await store.rules.put(rule());
      await store.rules.put(rule({ action: 'polite-block', updatedAt: NOW + 1 }));
      expect(await store.rules.list(ALICE)).toEqual([rule({ action: 'polite-block', updatedAt: NOW + 1 }), rule({ watcher: 'z.org' })]);
      expect(await store.rules.remove(ALICE, 'z.org')).toBe(true);
      expect(await store.rules.remove(ALICE, 'z.org')).toBe(false);
    });
  });

  describe('registrations', () => {
    it('upsert replaces the binding of the same contact; live leaves out expired ones', async () => {
      await store.registrations.upsert(reg());
      await store.registrations.upsert(reg({ cseq: 2, callId: 'r2', instance: '<urn:uuid:9>' }));
      await store.registrations.upsert(reg({ contact: 'sip:alice@old', expiresAt: NOW }));
      expect(await store.registrations.live(ALICE, NOW)).toEqual([reg({ cseq: 2, callId: 'r2', instance: '<urn:uuid:9>' })]);
    });

    it('remove and removeAll delete bindings; prune counts expired ones', async () => {
      await store.registrations.upsert(reg({ contact: 'sip:a' }));
      await store.registrations.upsert(reg({ contact: 'sip:b' }));
      await store.registrations.remove(ALICE, 'sip:a');
      expect((await store.registrations.live(ALICE, NOW)).map((r) => r.contact)).toEqual(['sip:b']);
      await store.registrations.removeAll(ALICE);
      expect(await store.registrations.live(ALICE, NOW)).toEqual([]);
      for (const i of range(3)) await store.registrations.upsert(reg({ contact: `sip:${i}`, expiresAt: NOW - i }));
      expect(await store.registrations.prune(NOW, 2)).toBe(2);
      expect(await store.registrations.prune(NOW, 2)).toBe(1);
    });
  });

  describe('store', () => {
    it('del/count return numbers on both backends', async () => {
      await store.subscriptions.insert(sub());
      await store.watchers.upsert(watcher({ status: 'terminated', updatedAt: NOW - 1 }));
      await store.registrations.upsert(reg({ expiresAt: NOW - 1 }));
      const counts = [await store.subscriptions.count(NOW), await store.watchers.prune(NOW, 10), await store.registrations.prune(NOW, 10)];
      expect(counts).toEqual([1, 1, 1]);
      for (const n of counts) expect(typeof n).toBe('number');
      expect(await store.publications.remove(ALICE, 'presence', 'none')).toBe(false);
    });

    it('transaction commits every change together and returns the work value', async () => {
      const v = await store.transaction(async (tx) => {
        await tx.publications.insert(pub());
        await tx.subscriptions.insert(sub());
        return tx.subscriptions.nextCseq('s1');
      });
      expect(v).toBe(1);
      expect(await store.publications.live(ALICE, 'presence', NOW)).toHaveLength(1);
    });

    it('transaction rolls back every change when the work throws', async () => {
      await store.subscriptions.insert(sub());
      const boom = store.transaction(async (tx) => {
        await tx.publications.insert(pub());
        await tx.subscriptions.nextCseq('s1');
        await tx.rules.put(rule());
        throw new Error('boom');
      });
      await expect(boom).rejects.toThrow('boom');
      expect(await store.publications.live(ALICE, 'presence', NOW)).toEqual([]);
      expect((await store.subscriptions.byId('s1'))?.localCseq).toBe(0);
      expect(await store.rules.list(ALICE)).toEqual([]);
    });

    it('a root repository call inside transaction() is rejected instead of deadlocking', async () => {
      const misuse = store.transaction(async () => store.publications.live(ALICE, 'presence', NOW));
      await expect(misuse).rejects.toThrow(/inside transaction/);
      await expect(store.transaction(async () => store.transaction(async () => 1))).rejects.toThrow(/inside transaction/);
      expect(await store.ping()).toBe(true);
    });

    it('concurrent transactions and root calls all complete (no deadlock on a single connection)', async () => {
      const work = range(20).map((i) =>
        i % 2
          ? store.transaction(async (tx) => {
              await tx.publications.insert(pub({ etag: `t${i}` }));
              return (await tx.publications.live(ALICE, 'presence', NOW)).length;
            })
          : store.publications.insert(pub({ etag: `r${i}` })).then(() => 0),
      );
      await Promise.all(work);
      expect(await store.publications.live(ALICE, 'presence', NOW)).toHaveLength(20);
    });

    it('coalesced calls of one turn each get their own rows (live, forPresentity, byDialog)', async () => {
      const aors = range(30).map((i) => `sip:u${i}@example.com`);
      await Promise.all(aors.map((a, i) => store.publications.insert(pub({ presentity: a, etag: `e${i}`, body: `<b${i}/>` }))));
      await Promise.all(aors.filter((_, i) => i % 3 === 0).map((a, i) =>
        store.subscriptions.insert(sub({ id: `s${i}`, presentity: a, callId: `c${i}`, localTag: `lt${i}` }))));
      const [lives, fors, dialogs] = await Promise.all([
        Promise.all(aors.map((a) => store.publications.live(a, 'presence', NOW))),
        Promise.all(aors.map((a) => store.subscriptions.forPresentity(a, 'presence', NOW))),
        Promise.all(range(12).map((i) => store.subscriptions.byDialog(`c${i}`, `lt${i}`, 'rt1'))),
      ]);
      lives.forEach((l, i) => expect(l.map((p) => [p.presentity, p.body])).toEqual([[aors[i], `<b${i}/>`]]));
      fors.forEach((f, i) => expect(f.map((x) => x.presentity)).toEqual(i % 3 === 0 ? [aors[i]] : []));
      dialogs.forEach((d, i) => expect(d?.id).toBe(i < 10 ? `s${i}` : undefined));
    });

    it('coalesced writes of one turn each get their own outcome (updateLive, removeLive, remove, update, upsert)', async () => {
      const aors = range(20).map((i) => `sip:w${i}@example.com`);
      await Promise.all(aors.map((a, i) => store.publications.insert(pub({ presentity: a, etag: `e${i}` }))));
      await Promise.all(aors.map((a, i) => store.subscriptions.insert(sub({ id: `s${i}`, presentity: a, callId: `c${i}` }))));
      // Even i: a modify with a body and a client; odd i: a refresh; i % 5 == 4: a stale entity-tag (no row).
      const updated = await Promise.all(aors.map((a, i) => store.publications.updateLive(a, 'presence', i % 5 === 4 ? 'stale' : `e${i}`, NOW,
        i % 2 === 0 ? { etag: `f${i}`, expiresAt: NOW + 9000, body: `<m${i}/>`, contentType: 'x/y', receivedAt: NOW, source: 'http', client: `c${i}` } : { etag: `f${i}`, expiresAt: NOW + 9000 })));
      updated.forEach((u, i) => {
        if (i % 5 === 4) return expect(u).toBeUndefined();
        expect(u).toMatchObject(i % 2 === 0 ? { etag: `f${i}`, body: `<m${i}/>`, client: `c${i}`, source: 'http' } : { etag: `f${i}`, body: '<presence/>', client: null, source: 'sip' });
      });
      const removed = await Promise.all(aors.map((a, i) => store.publications.removeLive(a, 'presence', i % 2 === 0 ? `f${i}` : 'nope', NOW)));
      expect(removed.map((r) => r?.presentity ?? null)).toEqual(aors.map((a, i) => (i % 2 === 0 && i % 5 !== 4 ? a : null)));
      await Promise.all(range(20).map((i) => store.subscriptions.update(`s${i}`, i % 2 ? { state: 'terminated', reason: 'timeout' } : { expiresAt: NOW + i, remoteCseq: 5 + i })));
      const subs = await Promise.all(range(20).map((i) => store.subscriptions.byId(`s${i}`)));
      subs.forEach((s, i) => expect(s).toMatchObject(i % 2 ? { state: 'terminated', reason: 'timeout', remoteCseq: 1 } : { state: 'active', expiresAt: NOW + i, remoteCseq: 5 + i }));
      expect(await Promise.all(['s1', 's1', 's2', 'none'].map((id) => store.subscriptions.remove(id)))).toEqual([true, false, true, false]);
      await Promise.all(['pending', 'active', 'terminated'].map((status) => store.watchers.upsert(watcher({ status: status as WatcherRecord['status'] }))));
      expect((await store.watchers.list(ALICE, 'presence')).map((w) => w.status)).toEqual(['terminated']);
    });

    it('concurrent CSeq bumps of one subscription in one turn each get their own value', async () => {
      await store.subscriptions.insert(sub());
      await store.subscriptions.insert(sub({ id: 's2', callId: 'c2' }));
      const [a, b, m] = await Promise.all([store.subscriptions.nextCseq('s1'), store.subscriptions.nextCseq('s1'), store.subscriptions.nextCseqs(['s1', 's2', 'gone'])]);
      expect([a, b, m.get('s1')].sort()).toEqual([1, 2, 3]);
      expect([...m.entries()].filter(([k]) => k !== 's1')).toEqual([['s2', 1]]);
    });

    it('ping answers true while the database answers and false once closed', async () => {
      const u = await url();
      const s = createStore(createKnex(u));
      try {
        expect(await s.ping()).toBe(true);
        await s.close();
        expect(await s.ping()).toBe(false);
      } finally {
        await dropTestDb(u);
      }
    });

    if (name === 'postgres') {
      it('two nodes sharing one database take disjoint expired rows', async () => {
        const other = createStore(createKnex(dbUrl));
        try {
          for (const i of range(50)) await store.publications.insert(pub({ etag: `x${i}`, expiresAt: NOW - i }));
          const runs = await Promise.all(range(6).flatMap(() => [store, other].map((s) => s.publications.takeExpired(NOW, 5))));
          const seen = runs.flat().map((p) => p.etag);
          expect(new Set(seen).size).toBe(seen.length);
        } finally {
          await other.close();
        }
      });
    }
  });
});
