/**
 * Issue 10, database outage: a change committed just before the database went away is told to its
 * watchers when the database returns (the state re-read, not guessed); HTTP answers 503 with
 * Retry-After meanwhile; the set of presentities still to tell is bounded.
 * The outage tests need PostgreSQL behind a proxy that the test cuts (HERALD_TEST_DB_URL); the
 * recovery loop and its bound also run on PGlite.
 */
import { heraldWithClient, type RunningHerald } from '../support/herald';
import { API_TOKENS, HttpTestClient, TOKENS } from '../support/http-client';
import { SipTestClient } from '../support/sip-client';
import { bodyOf, eventually, nextNotify, notifiesOf, publish, sleep, subscribe, type WatcherDialog } from '../support/subscriber';
import { startHeraldBehindProxy, type HeraldBehindProxy } from '../support/herald-behind-proxy';
import type { TcpProxy } from '../support/tcp-proxy';

describe('outage recovery loop (both backends)', () => {
  const herald = heraldWithClient({ outage_max_dirty: 2, outage_retry_interval: 50 });

  it('re-tells a presentity marked dirty from the database as soon as it answers, and keeps at most outage_max_dirty', async () => {
    const { h, c } = herald;
    const aor = 'sip:dirty@127.0.0.1';
    expect((await publish(c, aor, 'open', { note: 'from the database' })).status).toBe(200);
    const { dialog } = await subscribe(c, aor);
    const d = dialog as WatcherDialog;
    await nextNotify(c, d, (n) => bodyOf(n).includes('from the database'), true);
    const before = notifiesOf(c, d).length;
    h.app.fanout.markDirty(aor);
    h.app.fanout.markDirty('sip:other1@127.0.0.1');
    h.app.fanout.markDirty('sip:other2@127.0.0.1'); // beyond the bound: counted, not kept
    expect(h.app.fanout.recoveryStats.overflowed).toBe(1);
    // The loop pings, finds the database up, and re-runs the fan-out: the document is the stored one.
    const again = await nextNotify(c, d, () => notifiesOf(c, d).length > before);
    expect(bodyOf(again)).toContain('from the database');
    await eventually(() => h.app.fanout.dirtyCount === 0);
  });
});

const pgServer = process.env.HERALD_TEST_DB_URL;
(pgServer ? describe : describe.skip)('database outage: missed NOTIFYs (PostgreSQL behind a proxy that the test cuts)', () => {
  let behind: HeraldBehindProxy;
  let proxy: TcpProxy;
  let h: RunningHerald;
  let c: SipTestClient;
  let http: HttpTestClient;
  beforeAll(async () => {
    behind = await startHeraldBehindProxy(pgServer as string, { outage_retry_interval: 100, api_tokens: API_TOKENS });
    ({ proxy, herald: h } = behind);
    c = await SipTestClient.open('udp', h.udp);
    http = new HttpTestClient(h.http as { host: string; port: number }, TOKENS.rw);
  }, 60_000);
  afterAll(async () => {
    await c.close();
    await behind.stop();
  }, 60_000);

  it('sends the NOTIFY of a PUBLISH committed just before the outage once the database returns', async () => {
    const aor = 'sip:cut-after-commit@127.0.0.1';
    expect((await publish(c, aor, 'open', { note: 'before' })).status).toBe(200);
    const { dialog } = await subscribe(c, aor);
    const d = dialog as WatcherDialog;
    await nextNotify(c, d, (n) => bodyOf(n).includes('before'), true);
    const told = notifiesOf(c, d).length;

    // The proxy passes on the COMMIT's answer, then the database is gone: the 200 is honest (committed),
    // and the fan-out that follows cannot read the watchers.
    const cut = proxy.cutAfterNextCommit();
    const res = await publish(c, aor, 'closed', { note: 'committed before the cut' });
    expect(res.status).toBe(200);
    await cut;
    await eventually(() => h.app.fanout.dirtyCount === 1, 20_000);
    await sleep(300);
    expect(notifiesOf(c, d).length).toBe(told);

    await proxy.restore();
    const n = await nextNotify(c, d, (x) => bodyOf(x).includes('committed before the cut'), false, 20_000);
    expect(bodyOf(n)).toContain('<basic>closed</basic>');
    expect(h.app.fanout.dirtyCount).toBe(0);
    expect(h.app.fanout.recoveryStats.retold).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('remembers the presentity of a PUBLISH answered 503 for the database (its COMMIT may have happened) and re-tells it after the outage', async () => {
    const aor = 'sip:answered-503@127.0.0.1';
    const { dialog } = await subscribe(c, aor);
    const d = dialog as WatcherDialog;
    await nextNotify(c, d, () => true, true);
    const told = notifiesOf(c, d).length;
    await proxy.cut();
    try {
      const r = await publish(c, aor, 'open', { note: 'during' });
      expect(r.status).toBe(503);
      expect(h.app.fanout.dirtyCount).toBeGreaterThanOrEqual(1);
    } finally {
      await proxy.restore();
    }
    // Re-read from the database: nothing was committed, so the watcher hears the stored (empty) state again.
    await eventually(() => h.app.fanout.dirtyCount === 0 && notifiesOf(c, d).length > told, 20_000);
  }, 90_000);

  it('answers HTTP reads and writes 503 with Retry-After while the database is gone, keeps the written presentity for re-telling, then 200 again', async () => {
    const path = '/v1/presence/127.0.0.1/httpoutage';
    expect((await http.request('PUT', path, { body: { status: 'online' } })).status).toBeLessThan(300);
    await proxy.cut();
    try {
      for (const [method, body] of [['GET', undefined], ['PUT', { status: 'busy' }]] as const) {
        const r = await http.request(method, path, body ? { body } : {});
        expect(r.status).toBe(503);
        expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(r.json.code).toBe('UNAVAILABLE');
      }
      expect(h.app.fanout.dirtyCount).toBe(1); // the PUT's COMMIT may have happened
    } finally {
      await proxy.restore();
    }
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      status = (await http.request('GET', path)).status;
      if (status !== 200) await sleep(500);
    }
    expect(status).toBe(200);
    await eventually(() => h.app.fanout.dirtyCount === 0, 20_000);
  }, 90_000);
});
