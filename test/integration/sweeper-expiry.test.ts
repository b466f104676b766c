/**
 * Expiry told to watchers (seed 001 clean_period, RFC 6665 §4.2.2): a publication that is not
 * refreshed goes away and the watcher sees `closed`; a subscription that is not refreshed gets
 * `terminated;reason=timeout`. With PostgreSQL: two Heralds sweeping one database tell each expiry once.
 */
import { startHerald, type RunningHerald } from '../support/herald';
import { SipTestClient, pidf } from '../support/sip-client';
import { createPostgresTestDb, dropTestDb } from '../support/db';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function subscribe(c: SipTestClient, presentity: string, watcher: string, expires: number): Promise<void> {
  const r = await c.request('SUBSCRIBE', presentity, [
    ['From', `<${watcher}>;tag=${watcher.length}x${Math.random().toString(36).slice(2)}`], ['To', `<${presentity}>`],
    ['Event', 'presence'], ['Expires', String(expires)], ['Contact', `<${c.contact()}>`],
  ]);
  expect(r.status).toBe(200);
}

async function publish(c: SipTestClient, presentity: string, expires: number): Promise<void> {
  const r = await c.request('PUBLISH', presentity, [['From', `<${presentity}>;tag=p`], ['Event', 'presence'], ['Expires', String(expires)], ['Content-Type', 'application/pidf+xml']], pidf(presentity, 'open'));
  expect(r.status).toBe(200);
}

describe('sweeper over the wire', () => {
  let h: RunningHerald;
  let peer: SipTestClient;
  beforeAll(async () => {
    h = await startHerald({ min_expires: 1, clean_period: 1 });
    peer = await SipTestClient.open('udp', h.udp);
  });
  afterAll(async () => {
    await peer.close();
    await h.stop();
  });

  it('seed 001 clean_period: an unrefreshed publication expires and the watcher receives a closed document', async () => {
    const alice = 'sip:alice-exp@127.0.0.1';
    await subscribe(peer, alice, 'sip:bob@127.0.0.1', 600);
    await publish(peer, alice, 1);
    await peer.waitForRequest('NOTIFY', (n) => n.body.toString().includes('<basic>open</basic>'), 5000, true);
    const closed = await peer.waitForRequest('NOTIFY', (n) => n.body.toString().includes('<basic>closed</basic>'), 8000);
    expect(closed.headers.get('subscription-state')).toMatch(/^active;expires=/);
    expect(await h.app.store.publications.live(alice, 'presence', Date.now())).toHaveLength(0);
  });

  it('RFC 6665 §4.2.2: an unrefreshed subscription receives terminated;reason=timeout and is removed', async () => {
    const carol = 'sip:carol-exp@127.0.0.1';
    await subscribe(peer, carol, 'sip:dave@127.0.0.1', 1);
    const n = await peer.waitForRequest('NOTIFY', (x) => /^terminated/.test(x.headers.get('subscription-state') ?? '') && (x.headers.get('from') ?? '').includes(carol), 8000);
    expect(n.headers.get('subscription-state')).toBe('terminated;reason=timeout');
    expect(await h.app.store.subscriptions.forPresentity(carol, 'presence', 0)).toHaveLength(0);
  });
});

const pgServer = process.env.HERALD_TEST_DB_URL;
(pgServer ? describe : describe.skip)('two Heralds sweeping one PostgreSQL database', () => {
  let dbUrl: string;
  let a: RunningHerald;
  let b: RunningHerald;
  let peerA: SipTestClient;
  let peerB: SipTestClient;
  beforeAll(async () => {
    dbUrl = await createPostgresTestDb(pgServer as string);
    a = await startHerald({ db_url: dbUrl, min_expires: 1, clean_period: 1, node_id: 'a' });
    b = await startHerald({ db_url: dbUrl, min_expires: 1, clean_period: 1, node_id: 'b' });
    peerA = await SipTestClient.open('udp', a.udp);
    peerB = await SipTestClient.open('udp', b.udp);
  });
  afterAll(async () => {
    await peerA.close();
    await peerB.close();
    await a.stop();
    await b.stop();
    await dropTestDb(dbUrl);
  });

  it('tells every expiry exactly once', async () => {
    const n = 6;
    for (let i = 0; i < n; i++) {
      const p = `sip:two-${i}@127.0.0.1`;
      const peer = i % 2 ? peerA : peerB;
      await subscribe(peer, p, `sip:w${i}@127.0.0.1`, 600);
      await publish(peer, p, 2);
      await subscribe(peer, `sip:short-${i}@127.0.0.1`, `sip:s${i}@127.0.0.1`, 2);
    }
    await sleep(7000);
    const all = [...peerA.uniqueRequests('NOTIFY'), ...peerB.uniqueRequests('NOTIFY')];
    for (let i = 0; i < n; i++) {
      const from = (x: string) => all.filter((r) => (r.headers.get('from') ?? '').includes(x));
      expect(from(`sip:two-${i}@`).filter((r) => r.body.toString().includes('<basic>closed</basic>'))).toHaveLength(1);
      expect(from(`sip:short-${i}@`).filter((r) => (r.headers.get('subscription-state') ?? '').startsWith('terminated'))).toHaveLength(1);
    }
  });
});
