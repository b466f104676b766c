/**
 * The sweeper with a fake clock over a real (in-memory PGlite) store: nothing is swept early,
 * everything expired is swept exactly once, a second run finds nothing, batches are respected.
 */
import { FakeClock } from '../../src/clock';
import { silentLogger } from '../../src/log';
import { PresenceDocuments } from '../../src/presence/documents';
import { Fanout } from '../../src/presence/fanout';
import type { Publication, Subscription } from '../../src/presence/model';
import type { Store } from '../../src/presence/ports';
import { createKnex } from '../../src/store/db';
import { migrateLatest } from '../../src/store/migrate';
import { createStore } from '../../src/store/store';
import { ALL_TABLES } from '../../src/store/rows';
import type { Knex } from 'knex';
import { Sweeper } from '../../src/sweeper/sweeper';
import { RecordingSink } from '../support/recording-sink';
import { pidf } from '../support/sip-client';

const T0 = 1_800_000_000_000;

function publication(presentity: string, etag: string, expiresAt: number, basic: 'open' | 'closed' = 'open'): Publication {
  return { presentity, event: 'presence', etag, body: pidf(presentity, basic, undefined, `t-${etag}`), contentType: 'application/pidf+xml', source: 'sip', client: null, receivedAt: T0, expiresAt };
}

function subscription(id: string, presentity: string, expiresAt: number, event = 'presence'): Subscription {
  return {
    id, presentity, event, eventId: null, watcher: `sip:w-${id}@example.com`, watcherDisplayName: null, callId: `call-${id}`,
    remoteTag: `r-${id}`, localTag: `l-${id}`, remoteUri: `sip:w-${id}@example.com`, localUri: presentity, remoteCseq: 1, localCseq: 3,
    remoteTarget: `sip:w-${id}@127.0.0.1:5999`, routeSet: [], contactInstance: null,
    via: { transport: 'udp', host: '127.0.0.1', port: 5999, connectionId: null }, state: 'active', reason: null,
    expiresAt, version: 0, node: 'test', createdAt: T0, updatedAt: T0,
  };
}

describe('Sweeper', () => {
  let store: Store;
  let clock: FakeClock;
  let sink: RecordingSink;
  let sweeper: Sweeper;

  function makeSweeper(batchSize: number): Sweeper {
    const documents = new PresenceDocuments(65536);
    const fanout = new Fanout({ store, sink, documents, clock, forceActive: true });
    return new Sweeper({ store, fanout, sink, clock, log: silentLogger, batchSize, watcherRetentionSec: 60 });
  }

  let knex: Knex;
  beforeAll(async () => {
    knex = createKnex('memory://');
    await migrateLatest(knex);
    store = createStore(knex);
  });
  afterAll(() => store.close());

  beforeEach(async () => {
    await knex.raw(`TRUNCATE ${ALL_TABLES.map((t) => `"${t}"`).join(', ')}`);
    clock = new FakeClock(T0);
    sink = new RecordingSink();
    sweeper = makeSweeper(500);
  });

  it('sweeps nothing before the expiry time', async () => {
    await store.publications.insert(publication('sip:a@example.com', 'e1', T0 + 10_000));
    await store.subscriptions.insert(subscription('s1', 'sip:a@example.com', T0 + 10_000));
    clock.set(T0 + 9_999);
    expect(await sweeper.sweep()).toEqual({ publications: 0, subscriptions: 0, watchers: 0, registrations: 0 });
    expect(sink.sent).toHaveLength(0);
  });

  it('removes an expired publication and sends the watchers a closed document', async () => {
    await store.publications.insert(publication('sip:a@example.com', 'e1', T0 + 10_000));
    await store.subscriptions.insert(subscription('s1', 'sip:a@example.com', T0 + 100_000));
    clock.set(T0 + 10_000);
    expect((await sweeper.sweep()).publications).toBe(1);
    expect(await store.publications.live('sip:a@example.com', 'presence', clock.now())).toHaveLength(0);
    expect(sink.sent).toHaveLength(1);
    expect(sink.sent[0]?.body?.content).toContain('<basic>closed</basic>');
  });

  it('recomposes from the publications that are left when one of two expires', async () => {
    await store.publications.insert(publication('sip:a@example.com', 'e1', T0 + 10_000));
    await store.publications.insert(publication('sip:a@example.com', 'e2', T0 + 90_000));
    await store.subscriptions.insert(subscription('s1', 'sip:a@example.com', T0 + 100_000));
    clock.set(T0 + 20_000);
    await sweeper.sweep();
    const body = sink.sent[0]?.body?.content ?? '';
    expect(body).toContain('t-e2');
    expect(body).not.toContain('t-e1');
  });

  it('tells an expired subscription terminated;reason=timeout with the next CSeq, once', async () => {
    await store.subscriptions.insert(subscription('s1', 'sip:a@example.com', T0 + 5_000));
    clock.set(T0 + 6_000);
    expect((await sweeper.sweep()).subscriptions).toBe(1);
    expect(sink.sent).toEqual([expect.objectContaining({ state: 'terminated', reason: 'timeout', cseq: 4 })]);
    expect(await store.subscriptions.byId('s1')).toBeUndefined();
    const watchers = await store.watchers.list('sip:a@example.com', 'presence');
    expect(watchers).toEqual([expect.objectContaining({ subscriptionId: 's1', status: 'terminated', lastEvent: 'timeout' })]);
  });

  it('finds nothing on a second run', async () => {
    await store.publications.insert(publication('sip:a@example.com', 'e1', T0 + 1_000));
    await store.subscriptions.insert(subscription('s1', 'sip:b@example.com', T0 + 1_000));
    clock.set(T0 + 2_000);
    await sweeper.sweep();
    const count = sink.sent.length;
    expect(await sweeper.sweep()).toEqual({ publications: 0, subscriptions: 0, watchers: 0, registrations: 0 });
    expect(sink.sent).toHaveLength(count);
  });

  it('works in batches of sweep_batch_size and still sweeps everything', async () => {
    sweeper = makeSweeper(3);
    for (let i = 0; i < 10; i++) await store.publications.insert(publication(`sip:p${i}@example.com`, `e${i}`, T0 + 1_000 + i));
    const seen: number[] = [];
    const take = store.publications.takeExpired.bind(store.publications);
    const spy = jest.spyOn(store.publications, 'takeExpired').mockImplementation(async (now, limit) => {
      const rows = await take(now, limit);
      seen.push(rows.length);
      expect(limit).toBe(3);
      return rows;
    });
    clock.set(T0 + 60_000);
    try {
      expect((await sweeper.sweep()).publications).toBe(10);
    } finally {
      spy.mockRestore();
    }
    expect(seen).toEqual([3, 3, 3, 1]);
  });

  it('prunes terminated watcher records after watcher_retention', async () => {
    await store.subscriptions.insert(subscription('s1', 'sip:a@example.com', T0 + 1_000));
    clock.set(T0 + 2_000);
    await sweeper.sweep();
    clock.set(T0 + 2_000 + 59_000);
    expect((await sweeper.sweep()).watchers).toBe(0);
    clock.set(T0 + 2_000 + 61_000);
    expect((await sweeper.sweep()).watchers).toBe(1);
  });

  it('keeps counters for the metrics endpoint', async () => {
    await store.publications.insert(publication('sip:a@example.com', 'e1', T0 + 1_000));
    clock.set(T0 + 3_000);
    await sweeper.sweep();
    expect(sweeper.counters).toEqual(expect.objectContaining({ sweeps: 1, publicationsExpired: 1, lastLagMs: 2_000 }));
  });
});
