/**
 * Issue 10, overload: per-source rate limits for PUBLISH and SUBSCRIBE (503 + Retry-After, nothing
 * stored), the watcher cap per presentity (480 + Retry-After), and the HTTP in-flight bound (503 +
 * Retry-After). Real Herald, real sockets, PGlite or PostgreSQL.
 */
import { connect, type Socket } from 'node:net';
import { FakeClock } from '../../src/clock';
import { heraldWithClient, startHerald } from '../support/herald';
import { API_TOKENS, TOKENS } from '../support/http-client';
import { SipTestClient } from '../support/sip-client';
import { publish, resubscribe, subscribe, type WatcherDialog } from '../support/subscriber';

describe('per-source rate limit (source_rate_limit)', () => {
  const clock = new FakeClock(Date.now());
  const herald = heraldWithClient({ source_rate_limit: 2, source_rate_burst: 3 }, { clock });

  it('answers PUBLISH and SUBSCRIBE beyond the burst 503 with Retry-After, stores nothing of them, and lets the source in again as tokens refill', async () => {
    const { h, c } = herald;
    const statuses: number[] = [];
    const refused: string[] = [];
    for (let i = 0; i < 5; i++) {
      const aor = `sip:rl${i}@127.0.0.1`;
      const r = await publish(c, aor, 'open');
      statuses.push(r.status);
      if (r.status === 503) {
        expect(r.headers.get('retry-after')).toBe('1');
        refused.push(aor);
      }
    }
    expect(statuses).toEqual([200, 200, 200, 503, 503]);
    for (const aor of refused) expect(await h.app.store.publications.live(aor, 'presence', clock.now())).toEqual([]);
    // SUBSCRIBE shares the source's bucket; loopback is not exempt by default.
    expect((await subscribe(c, 'sip:rl0@127.0.0.1')).res.status).toBe(503);
    clock.advance(1000); // two tokens at 2/s
    expect((await subscribe(c, 'sip:rl0@127.0.0.1')).res.status).toBe(200);
    expect((await publish(c, 'sip:rl3@127.0.0.1', 'open')).status).toBe(200);
    expect((await publish(c, 'sip:rl4@127.0.0.1', 'open')).status).toBe(503);
    // OPTIONS (no state written) is not limited.
    expect((await c.request('OPTIONS', 'sip:herald@127.0.0.1', [])).status).toBe(200);
    // Operators see the refusals.
    const metrics = await (await fetch(`http://127.0.0.1:${h.http?.port}/metrics`)).text();
    expect(metrics).toMatch(/^herald_sip_rate_limited_total 4$/m);
    expect(metrics).toMatch(/^herald_outage_dirty_presentities 0$/m);
  });
});

describe('rate limit exemption (source_rate_exempt)', () => {
  it('never limits a listed source, loopback included', async () => {
    const h = await startHerald({ source_rate_limit: 1, source_rate_burst: 1, source_rate_exempt: '127.0.0.1' }, { clock: new FakeClock(Date.now()) });
    const c = await SipTestClient.open('udp', h.udp);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await publish(c, `sip:ex${i}@127.0.0.1`, 'open')).status);
      expect(statuses).toEqual([200, 200, 200, 200]);
    } finally {
      await c.close();
      await h.stop();
    }
  }, 90_000);
});

describe('watcher cap per presentity (max_watchers)', () => {
  const herald = heraldWithClient({ max_watchers: 2, max_watchers_retry_after: 120 });

  it('answers a new watcher beyond the cap 480 Too Many Watchers with Retry-After; a re-subscribing device and a fetch still get in; a freed place is taken again', async () => {
    const { h, c } = herald;
    const aor = 'sip:popular@127.0.0.1';
    const a = await subscribe(c, aor, { watcher: 'sip:w1@127.0.0.1' });
    const b = await subscribe(c, aor, { watcher: 'sip:w2@127.0.0.1' });
    expect([a.res.status, b.res.status]).toEqual([200, 200]);
    const third = await subscribe(c, aor, { watcher: 'sip:w3@127.0.0.1' });
    expect(third.res.status).toBe(480);
    expect(third.res.reason).toBe('Too Many Watchers');
    expect(third.res.headers.get('retry-after')).toBe('120');
    expect(await h.app.store.subscriptions.countFor(aor, 'presence', Date.now())).toBe(2);
    // w1's phone rebooted: a new dialog from the same contact replaces its old subscription.
    expect((await subscribe(c, aor, { watcher: 'sip:w1@127.0.0.1' })).res.status).toBe(200);
    // A fetch (Expires 0) holds no place.
    expect((await subscribe(c, aor, { watcher: 'sip:w3@127.0.0.1', expires: 0 })).res.status).toBe(200);
    // The cap counts presence watchers of this presentity only.
    expect((await subscribe(c, 'sip:other@127.0.0.1', { watcher: 'sip:w3@127.0.0.1' })).res.status).toBe(200);
    expect((await resubscribe(c, b.dialog as WatcherDialog, 0)).status).toBe(200);
    expect((await subscribe(c, aor, { watcher: 'sip:w3@127.0.0.1' })).res.status).toBe(200);
  });
});

describe('HTTP in-flight bound (http_max_in_flight)', () => {
  it('answers 503 with Retry-After while the bound is taken, keeps /healthz open, and serves again once the request in flight ends', async () => {
    const h = await startHerald({ http_max_in_flight: 1, api_tokens: API_TOKENS });
    const { host, port } = h.http as { host: string; port: number };
    const url = (p: string): string => `http://${host}:${port}${p}`;
    let slow: Socket | null = null;
    try {
      // A request in flight: its headers are in (and authorized), its body never completes.
      slow = await new Promise<Socket>((resolve, reject) => {
        const s = connect({ host, port }, () => resolve(s));
        s.once('error', reject);
      });
      slow.on('error', () => {});
      const closed = new Promise<void>((r) => slow?.once('close', () => r()));
      slow.write(`PUT /v1/presence/127.0.0.1/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKENS.rw}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"st`);
      let r = await fetch(url('/readyz'));
      for (let i = 0; i < 20 && r.status !== 503; i++) r = await fetch(url('/readyz'));
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('1');
      expect(((await r.json()) as { code: string }).code).toBe('UNAVAILABLE');
      expect((await fetch(url('/healthz'))).status).toBe(200);
      slow.destroy();
      await closed;
      let after = 0;
      for (let i = 0; i < 50 && after !== 200; i++) {
        after = (await fetch(url('/readyz'))).status;
        if (after !== 200) await new Promise((res) => setTimeout(res, 20));
      }
      expect(after).toBe(200);
    } finally {
      slow?.destroy();
      await h.stop();
    }
  }, 90_000);

  it('does not count held deliveries: with the bound at 1, an open SSE stream leaves room for other requests', async () => {
    const h = await startHerald({ http_max_in_flight: 1, api_tokens: API_TOKENS });
    const { host, port } = h.http as { host: string; port: number };
    const url = (p: string): string => `http://${host}:${port}${p}`;
    const auth = { Authorization: `Bearer ${TOKENS.admin}`, 'Content-Type': 'application/json' };
    const ctl = new AbortController();
    try {
      const made = await fetch(url('/v1/subscriptions'), { method: 'POST', headers: auth, body: JSON.stringify({ uris: ['sip:held@127.0.0.1'], durationMinutes: 5 }) });
      expect(made.status).toBe(201);
      const { id } = (await made.json()) as { id: string };
      const stream = await fetch(url(`/v1/subscriptions/${id}/stream`), { headers: { Authorization: auth.Authorization, Accept: 'text/event-stream' }, signal: ctl.signal });
      expect(stream.status).toBe(200);
      // The stream stays open (its body is never read to the end) while other requests are served.
      for (let i = 0; i < 5; i++) expect((await fetch(url('/readyz'))).status).toBe(200);
      expect((await fetch(url(`/v1/subscriptions/${id}`), { headers: auth })).status).toBe(200);
    } finally {
      ctl.abort();
      await h.stop();
    }
  }, 90_000);
});
