/**
 * Issue 10 edges: a database outage is answered 503 + Retry-After (not 500, no crash) and service
 * resumes by itself; beyond max_in_flight requests are refused 503 instead of queued; SIGTERM-style
 * stop drains the requests in flight.
 */
import { heraldWithClient, startHerald, type RunningHerald } from '../support/herald';
import { SipTestClient, pidf } from '../support/sip-client';
import { startHeraldBehindProxy, type HeraldBehindProxy } from '../support/herald-behind-proxy';
import type { TcpProxy } from '../support/tcp-proxy';

const publishHeaders = (aor: string): Array<[string, string]> => [['From', `<${aor}>;tag=x${Math.random().toString(36).slice(2)}`], ['Event', 'presence'], ['Expires', '60'], ['Content-Type', 'application/pidf+xml']];

describe('overload bound', () => {
  const herald = heraldWithClient({ max_in_flight: 1 });

  it('RFC 3261 §21.5.4: beyond max_in_flight answers 503 with Retry-After instead of queueing', async () => {
    const { h, c } = herald;
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => {
      const aor = `sip:load${i}@127.0.0.1`;
      return c.request('PUBLISH', aor, publishHeaders(aor), pidf(aor, 'open'));
    }));
    const refused = replies.filter((r) => r.status === 503);
    expect(replies.filter((r) => r.status === 200).length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(h.app.endpoint.overloaded).toBe(refused.length);
  });
});

describe('graceful stop', () => {
  it('finishes the requests in flight before closing, then refuses nothing half-done', async () => {
    const h = await startHerald();
    const c = await SipTestClient.open('udp', h.udp);
    try {
      const pending = Array.from({ length: 10 }, (_, i) => {
        const aor = `sip:drain${i}@127.0.0.1`;
        return c.request('PUBLISH', aor, publishHeaders(aor), pidf(aor, 'open'));
      });
      await new Promise((r) => setTimeout(r, 5));
      const drained = await h.app.endpoint.drain(5000);
      expect(drained).toBe(true);
      const replies = await Promise.all(pending);
      // Every request got an answer: committed (200) or refused for a retry (503), never lost.
      for (const r of replies) expect([200, 503]).toContain(r.status);
      const ok = replies.filter((r) => r.status === 200).length;
      const stored = (await Promise.all(Array.from({ length: 10 }, (_, i) => h.app.store.publications.live(`sip:drain${i}@127.0.0.1`, 'presence', Date.now())))).filter((l) => l.length > 0).length;
      expect(stored).toBe(ok);
    } finally {
      await c.close();
      await h.stop();
    }
  });
});

const pgServer = process.env.HERALD_TEST_DB_URL;
(pgServer ? describe : describe.skip)('database outage (PostgreSQL behind a proxy that the test cuts)', () => {
  let behind: HeraldBehindProxy;
  let proxy: TcpProxy;
  let h: RunningHerald;
  let c: SipTestClient;
  beforeAll(async () => {
    behind = await startHeraldBehindProxy(pgServer as string, {});
    ({ proxy, herald: h } = behind);
    c = await SipTestClient.open('udp', h.udp);
  }, 60_000);
  afterAll(async () => {
    await c.close();
    await behind.stop();
  }, 60_000);

  it('answers 503 with Retry-After while the database is gone, turns /readyz red, and resumes by itself', async () => {
    const aor = 'sip:outage@127.0.0.1';
    expect((await c.request('PUBLISH', aor, publishHeaders(aor), pidf(aor, 'open'))).status).toBe(200);
    await proxy.cut();
    const during = await c.request('PUBLISH', aor, publishHeaders(aor), pidf(aor, 'closed'), 20_000);
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toMatch(/^\d+$/);
    const ready = await fetch(`http://127.0.0.1:${h.http?.port}/readyz`);
    expect(ready.status).toBe(503);
    await proxy.restore();
    let after = 0;
    for (let i = 0; i < 20 && after !== 200; i++) {
      after = (await c.request('PUBLISH', aor, publishHeaders(aor), pidf(aor, 'closed'), 20_000)).status;
      if (after !== 200) await new Promise((r) => setTimeout(r, 500));
    }
    expect(after).toBe(200);
    expect((await fetch(`http://127.0.0.1:${h.http?.port}/readyz`)).status).toBe(200);
  }, 90_000);
});
