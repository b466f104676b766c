/**
 * HTTP subscriptions' life (issue 9, seed 003): made with a duration and links, read, changed
 * (members, duration bounded by max_subscription_duration), deleted; the warning before the end and
 * the end; a cursor older than the event window (410); errors as JSON {code, message} naming the
 * field; seed 000's /subscriber listing; pres_rules applied to HTTP watchers. Real HTTP and SIP on
 * loopback, real database; the clock is a fake one moved by hand.
 */
import { FakeClock } from '../../src/clock';
import { startHerald, type RunningHerald } from '../support/herald';
import { API_TOKENS, HttpTestClient, TOKENS } from '../support/http-client';
import { StreamReader } from '../support/event-stream';
import { SipTestClient } from '../support/sip-client';

const ALLOWED = 'http://127.0.0.1:9';

describe('HTTP subscriptions: lifecycle', () => {
  let h: RunningHerald;
  let http: HttpTestClient;
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  beforeAll(async () => {
    h = await startHerald({
      api_tokens: API_TOKENS, webhook_allow_list: [ALLOWED], max_subscription_duration: 30, subscription_warning: 60, event_window: 600,
      subscription_sweep: 3600,
    }, { clock });
    http = new HttpTestClient(h.http as { host: string; port: number }, TOKENS.admin);
  });
  afterAll(async () => {
    await h.stop();
  });
  const ms = (iso: string): number => Date.parse(iso);

  it('POST answers 201 with id, expiresAt and links; PATCH adds, removes and extends (bounded); DELETE ends it', async () => {
    const r = await http.post('/v1/subscriptions', { uris: ['sip:a1@example.com', 'sip:a2@Example.com'], durationMinutes: 11 });
    expect(r.status).toBe(201);
    const id = r.json.id as string;
    expect(r.headers.get('location')).toBe(`/v1/subscriptions/${id}`);
    expect(r.json).toMatchObject({
      state: 'active', uris: ['sip:a1@example.com', 'sip:a2@example.com'], watcher: 'sip:anonymous@anonymous.invalid', secret: expect.any(String),
      _links: { self: { href: `/v1/subscriptions/${id}` }, events: { href: `/v1/subscriptions/${id}/events` }, stream: { href: `/v1/subscriptions/${id}/stream` } },
    });
    expect(ms(r.json.expiresAt) - clock.now()).toBe(11 * 60_000);
    const got = await http.get(`/v1/subscriptions/${id}`);
    expect(got.status).toBe(200);
    expect(got.json.secret).toBeUndefined();
    const patched = await http.request('PATCH', `/v1/subscriptions/${id}`, { body: { add: ['sip:a3@example.com'], remove: ['sip:a1@example.com'], durationMinutes: 999 } });
    expect(patched.status).toBe(200);
    expect(patched.json.uris).toEqual(['sip:a2@example.com', 'sip:a3@example.com']);
    expect(ms(patched.json.expiresAt) - clock.now()).toBe(30 * 60_000);
    expect((await http.delete(`/v1/subscriptions/${id}`)).status).toBe(204);
    const gone = await http.get(`/v1/subscriptions/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.json).toEqual({ code: 'NOT_FOUND', message: `no subscription ${id}` });
  });

  it('errors are JSON {code, message} naming the bad field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ durationMinutes: 5 }, /body\.uris is required/],
      [{ uris: ['sip:x@example.com'], durationMinutes: 0 }, /body\.durationMinutes/],
      [{ uris: ['mailto:x@example.com'], durationMinutes: 5 }, /body\.uris\.0/],
      [{ uris: ['sip:x@example.com'], durationMinutes: 5, webhookUrl: 'http://203.0.113.9/hook' }, /body\.webhookUrl.*webhook_allow_list/],
      [{ uris: ['sip:x@example.com'], durationMinutes: 5, webhookUrl: 'http://127.0.0.1:10/hook' }, /body\.webhookUrl/],
      [{ uris: ['sip:x@example.com'], durationMinutes: 5, extra: 1 }, /body\.extra is not allowed/],
    ];
    for (const [body, message] of cases) {
      const r = await http.post('/v1/subscriptions', body);
      expect([r.status, r.json.code]).toEqual([400, 'BAD_REQUEST']);
      expect(r.json.message).toMatch(message);
    }
    const ok = await http.post('/v1/subscriptions', { uris: ['sip:x@example.com'], durationMinutes: 5, webhookUrl: `${ALLOWED}/hook` });
    expect(ok.status).toBe(201);
    for (const path of ['/v1/subscriptions/nope', '/v1/subscriptions/nope/events', '/v1/subscriptions/nope/stream']) {
      const r = await http.get(path);
      expect([r.status, r.json.code]).toEqual([404, 'NOT_FOUND']);
    }
    const past = await http.get(`/v1/subscriptions/${ok.json.id}/events?ack=99`);
    expect([past.status, past.json.code]).toEqual([400, 'BAD_REQUEST']);
    expect(past.json.message).toMatch(/ack 99/);
    expect((await http.post('/v1/subscriptions', { uris: ['sip:x@example.com'], durationMinutes: 5 }, { token: TOKENS.read })).status).toBe(403);
    expect((await http.post('/v1/subscriptions', { uris: ['sip:x@example.com'], durationMinutes: 5 }, { token: null })).status).toBe(401);
  });

  it('a cursor older than the event window is answered 410 naming the oldest event kept', async () => {
    const r = await http.post('/v1/subscriptions', { uris: ['sip:window@example.com'], durationMinutes: 20 });
    const id = r.json.id as string;
    clock.advance(601_000);
    expect((await http.put('/v1/presence/example.com/window', { status: 'away' })).status).toBe(201);
    await http.get(`/v1/subscriptions/${id}/events?ack=1&timeoutSec=5`);
    await h.app.webSubscriptions.sweep();
    const old = await http.get(`/v1/subscriptions/${id}/events?ack=0`);
    expect([old.status, old.json.code]).toEqual([410, 'GONE']);
    expect(old.json.message).toMatch(/oldest event kept is 2/);
    expect(old.headers.get('herald-oldest-seq')).toBe('2');
    const fine = await http.get(`/v1/subscriptions/${id}/events?ack=1&timeoutSec=0`);
    expect(fine.json.events.map((e: { seq: number; status: string }) => [e.seq, e.status])).toEqual([[2, 'away']]);
    const sse = await StreamReader.open(h.http as { host: string; port: number }, `/v1/subscriptions/${id}/stream`, TOKENS.admin, { lastEventId: '0' });
    expect(sse.status).toBe(410);
    sse.close();
  });

  it('duration expiry emits the warning, then ended; the stream ends and the channel has no next link', async () => {
    const r = await http.post('/v1/subscriptions', { uris: ['sip:expiring@example.com'], durationMinutes: 2 });
    const id = r.json.id as string;
    const sse = await StreamReader.open(h.http as { host: string; port: number }, `/v1/subscriptions/${id}/stream`, TOKENS.admin);
    await sse.until((s) => s.events.length >= 1);
    clock.advance(30_000);
    expect((await h.app.webSubscriptions.sweep()).warned).toBe(0);
    clock.advance(31_000);
    expect((await h.app.webSubscriptions.sweep()).warned).toBeGreaterThanOrEqual(1);
    await sse.until((s) => s.events.length >= 2);
    clock.advance(60_000);
    expect((await h.app.webSubscriptions.sweep()).ended).toBeGreaterThanOrEqual(1);
    await sse.until((s) => s.ended);
    expect(sse.events.map((e) => [e.id, e.event])).toEqual([['1', 'presence'], ['2', 'expiring'], ['3', 'ended']]);
    const all = await http.get(`/v1/subscriptions/${id}/events?ack=0`);
    expect(all.json.events.map((e: { type: string }) => e.type)).toEqual(['presence', 'expiring', 'ended']);
    expect(all.json.subscription.state).toBe('ended');
    expect(all.json._links.next).toBeUndefined();
    expect((await http.get(`/v1/subscriptions/${id}`)).json.state).toBe('ended');
    const patch = await http.request('PATCH', `/v1/subscriptions/${id}`, { body: { durationMinutes: 5 } });
    expect([patch.status, patch.json.code]).toEqual([410, 'GONE']);
  });

  it('the OpenAPI document lists the subscription, subscriber and app routes', async () => {
    const doc = (await http.get('/v1/openapi.json', { token: null })).json;
    for (const p of [
      '/v1/subscriptions', '/v1/subscriptions/{id}', '/v1/subscriptions/{id}/events', '/v1/subscriptions/{id}/stream', '/v1/subscribers/{domain}/{user}',
      '/v1/apps', '/v1/apps/{appId}', '/v1/apps/{appId}/grants/{domain}/{user}', '/v1/apps/{appId}/stream', '/v1/apps/{appId}/events',
    ]) expect(Object.keys(doc.paths)).toContain(p);
    expect(Object.keys(doc.paths['/v1/subscriptions/{id}']).sort()).toEqual(['delete', 'get', 'patch']);
    expect(doc.paths['/v1/subscriptions'].post['x-scope']).toBe('subscriptions');
    expect(Object.keys(doc.paths['/v1/subscriptions/{id}/events'].get.responses)).toEqual(expect.arrayContaining(['200', '404', '410']));
  });

  it('GET /v1/subscribers lists every watcher of the user, SIP and HTTP, with state (seed 000 /subscriber)', async () => {
    const p = 'sip:watched@example.com';
    const sip = await SipTestClient.open('udp', h.udp);
    try {
      const s = await sip.request('SUBSCRIBE', p, [
        ['From', '<sip:bob@example.com>;tag=w1'], ['To', `<${p}>`], ['Event', 'presence'], ['Expires', '600'], ['Contact', `<${sip.contact()}>`],
      ]);
      expect(s.status).toBe(200);
      const web = await http.post('/v1/subscriptions', { uris: [p], durationMinutes: 5, watcher: 'sip:carol@example.com' });
      const r = await http.get('/v1/subscribers/example.com/watched');
      expect(r.status).toBe(200);
      expect(r.json.uri).toBe(p);
      expect(r.json.watchers).toEqual(expect.arrayContaining([
        expect.objectContaining({ kind: 'sip', watcher: 'sip:bob@example.com', state: 'active' }),
        expect.objectContaining({ kind: 'http', id: web.json.id, watcher: 'sip:carol@example.com', state: 'active' }),
      ]));
      expect(r.json.watchers).toHaveLength(2);
    } finally {
      await sip.close();
    }
  });
});

describe('HTTP subscriptions: pres_rules apply to HTTP watchers (force_active off)', () => {
  let h: RunningHerald;
  let http: HttpTestClient;
  beforeAll(async () => {
    h = await startHerald({ api_tokens: API_TOKENS, force_active: 0 });
    http = new HttpTestClient(h.http as { host: string; port: number }, TOKENS.admin);
  });
  afterAll(async () => {
    await h.stop();
  });
  const statuses = async (id: string): Promise<string[]> =>
    (await http.get(`/v1/subscriptions/${id}/events?timeoutSec=0`)).json.events.map((e: { status: string }) => e.status);

  it('a pending or blocked watcher sees nothing, a polite-blocked one offline, an allowed one the status', async () => {
    const p = 'sip:ruled@example.com';
    expect((await http.put('/v1/presence/example.com/ruled', { status: 'busy' })).status).toBe(201);
    await h.app.rules.setRule({ presentity: p, watcher: 'sip:blocked@example.com', action: 'block' });
    await h.app.rules.setRule({ presentity: p, watcher: 'sip:polite@example.com', action: 'polite-block' });
    await h.app.rules.setRule({ presentity: p, watcher: 'sip:friend@example.com', action: 'allow' });
    const make = async (watcher: string): Promise<string> => (await http.post('/v1/subscriptions', { uris: [p], durationMinutes: 5, watcher })).json.id;
    const pending = await make('sip:stranger@example.com');
    const blocked = await make('sip:blocked@example.com');
    const polite = await make('sip:polite@example.com');
    const friend = await make('sip:friend@example.com');
    expect(await statuses(pending)).toEqual([]);
    expect(await statuses(blocked)).toEqual([]);
    expect(await statuses(polite)).toEqual(['offline']);
    expect(await statuses(friend)).toEqual(['busy']);
    const list = (await http.get('/v1/subscribers/example.com/ruled')).json.watchers as Array<{ id: string; state: string }>;
    expect(Object.fromEntries(list.map((w) => [w.id, w.state]))).toEqual({ [pending]: 'pending', [blocked]: 'rejected', [polite]: 'active', [friend]: 'active' });
    // The presentity allows the stranger: it gets the status it may now see.
    await h.app.rules.setRule({ presentity: p, watcher: 'sip:stranger@example.com', action: 'allow' });
    await h.app.httpWatchers.drain();
    expect(await statuses(pending)).toEqual(['busy']);
  });
});
