/**
 * Group commit: concurrent changes share one transaction, each request gets the outcome it would
 * have had alone, and a change is visible to another connection when its promise resolves.
 */
import type { Knex } from 'knex';
import { PresenceError } from '../../src/errors';
import type { Publication } from '../../src/presence/model';
import type { Store } from '../../src/presence/ports';
import { createKnex } from '../../src/store/db';
import { GroupCommitStore } from '../../src/store/group-commit';
import { migrateLatest } from '../../src/store/migrate';
import { createStore } from '../../src/store/store';
import { backends, dropTestDb } from '../support/db';

const NOW = 1_800_000_000_000;
const pub = (presentity: string, etag: string): Publication => ({
  presentity, event: 'presence', etag, body: '<presence/>', contentType: 'application/pidf+xml', source: 'sip', client: null, receivedAt: NOW, expiresAt: NOW + 60_000,
});

describe.each(backends())('GroupCommitStore on $name', (backend) => {
  let url: string;
  let knex: Knex;
  let inner: Store;
  let store: GroupCommitStore;
  beforeAll(async () => {
    url = await backend.url();
    knex = createKnex(url);
    await migrateLatest(knex);
    inner = createStore(knex);
    store = new GroupCommitStore(inner, { maxBatch: 50, maxInFlight: backend.name === 'postgres' ? 2 : 1 });
  });
  afterAll(async () => {
    await store.close();
    await dropTestDb(url);
  });
  beforeEach(() => knex('presentity').del());

  it('commits 100 concurrent changes in fewer transactions than changes', async () => {
    const before = { ...store.stats };
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.transaction((tx) => tx.publications.insert(pub(`sip:u${i}@x`, `e${i}`)))));
    expect(store.stats.works - before.works).toBe(100);
    expect(store.stats.batches - before.batches).toBeLessThan(100);
    expect(Number((await knex('presentity').count({ n: '*' }))[0]?.n)).toBe(100);
  });

  it('rejects a work that refuses before writing and commits the others of its batch', async () => {
    const results = await Promise.allSettled([
      store.transaction((tx) => tx.publications.insert(pub('sip:a@x', 'a1'))),
      store.transaction(async (tx) => {
        if (!(await tx.publications.byEtag('sip:b@x', 'presence', 'nope', NOW))) throw new PresenceError('CONDITIONAL_REQUEST_FAILED');
      }),
      store.transaction((tx) => tx.publications.insert(pub('sip:c@x', 'c1'))),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(PresenceError);
    expect((await knex('presentity').select('etag').orderBy('etag')).map((r: { etag: string }) => r.etag)).toEqual(['a1', 'c1']);
  });

  it('keeps the batch after a conditional write that matched nothing followed by a refusal (a 412)', async () => {
    const poisonedBefore = store.stats.poisoned;
    const results = await Promise.allSettled([
      store.transaction((tx) => tx.publications.insert(pub('sip:a@x', 'a1'))),
      store.transaction(async (tx) => {
        if (!(await tx.publications.removeLive('sip:b@x', 'presence', 'nope', NOW))) throw new PresenceError('CONDITIONAL_REQUEST_FAILED');
      }),
      store.transaction((tx) => tx.publications.insert(pub('sip:c@x', 'c1'))),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(store.stats.poisoned).toBe(poisonedBefore);
  });

  it('rolls back the writes of a work that fails after writing, and still commits the others', async () => {
    const results = await Promise.allSettled([
      store.transaction((tx) => tx.publications.insert(pub('sip:a@x', 'a1'))),
      store.transaction(async (tx) => {
        await tx.publications.insert(pub('sip:b@x', 'b1'));
        throw new Error('boom after a write');
      }),
      store.transaction((tx) => tx.publications.insert(pub('sip:c@x', 'c1'))),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await knex('presentity').select('etag').orderBy('etag')).map((r: { etag: string }) => r.etag)).toEqual(['a1', 'c1']);
  });

  it('rolls back an unconditional write (a registration removed) when its work then refuses', async () => {
    const reg = { aor: 'sip:r@x', contact: 'sip:r@10.0.0.1', instance: null, callId: 'c', cseq: 1, via: { transport: 'udp' as const, host: '10.0.0.1', port: 5060, connectionId: null }, expiresAt: NOW + 60_000 };
    await store.transaction((tx) => tx.registrations.upsert(reg));
    const results = await Promise.allSettled([
      store.transaction((tx) => tx.publications.insert(pub('sip:a@x', 'a1'))),
      store.transaction(async (tx) => {
        await tx.registrations.remove('sip:r@x', 'sip:r@10.0.0.1');
        throw new PresenceError('SERVER_ERROR', 'refused after a write');
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(await store.registrations.live('sip:r@x', NOW)).toHaveLength(1);
    await knex('registrations').del();
  });

  it('isolates a database error (duplicate key) to the work that caused it', async () => {
    await store.transaction((tx) => tx.publications.insert(pub('sip:d@x', 'd1')));
    const results = await Promise.allSettled([
      store.transaction((tx) => tx.publications.insert(pub('sip:a@x', 'a1'))),
      store.transaction((tx) => tx.publications.insert(pub('sip:d@x', 'd1'))),
      store.transaction((tx) => tx.publications.insert(pub('sip:c@x', 'c1'))),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await knex('presentity').select('etag').orderBy('etag')).map((r: { etag: string }) => r.etag)).toEqual(['a1', 'c1', 'd1']);
  });

  // PGlite has one connection: a second one can't exist, so this is a PostgreSQL check.
  (backend.name === 'postgres' ? it : it.skip)('resolves only after COMMIT: another connection already sees the change', async () => {
    const other = createKnex(url);
    try {
      await store.transaction((tx) => tx.publications.insert(pub('sip:v@x', 'v1')));
      expect(await other('presentity').where({ etag: 'v1' }).first()).toBeDefined();
    } finally {
      await other.destroy();
    }
  });
});
