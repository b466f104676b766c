/**
 * Operator endpoints under /admin (issue 8) and GET /metrics, over real HTTP against a running Herald
 * with a real SIP watcher: listings with filters and cursor paging, terminating a subscription
 * (the watcher gets NOTIFY terminated;reason=deactivated), a manual sweep, the configuration with
 * secrets redacted, and the Prometheus metrics.
 */
import { startHerald, type RunningHerald } from '../support/herald';
import { API_TOKENS, HttpTestClient, TOKENS } from '../support/http-client';
import { SipTestClient } from '../support/sip-client';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('/admin and /metrics', () => {
  let h: RunningHerald;
  let admin: HttpTestClient;
  let sip: SipTestClient;
  beforeAll(async () => {
    h = await startHerald({ api_tokens: API_TOKENS, min_expires: 1 });
    admin = new HttpTestClient(h.http as { host: string; port: number }, TOKENS.admin);
    sip = await SipTestClient.open('udp', h.udp);
    for (const u of ['ann', 'bea', 'cid', 'dan', 'eve']) {
      expect((await admin.put(`/v1/presence/admin.example/${u}`, { status: 'online', note: u })).status).toBe(201);
    }
    await admin.put('/v1/presence/admin.example/ann/clients/tablet', { status: 'away' });
    await admin.put('/v1/presence/elsewhere.example/zed', { status: 'busy' });
  });
  afterAll(async () => {
    await sip.close();
    await h.stop();
  });

  async function subscribe(presentity: string, watcher: string): Promise<void> {
    const r = await sip.request('SUBSCRIBE', presentity, [
      ['From', `<${watcher}>;tag=${Math.random().toString(36).slice(2)}`], ['To', `<${presentity}>`], ['Event', 'presence'],
      ['Expires', '600'], ['Contact', `<${sip.contact()}>`],
    ]);
    expect(r.status).toBe(200);
  }

  /** Every item of a listing, page after page, following nextCursor. */
  async function all(path: string, limit: number): Promise<{ items: Array<Record<string, unknown>>; pages: number }> {
    const items: Array<Record<string, unknown>> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const r = await admin.get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(r.status).toBe(200);
      items.push(...(r.json.items as Array<Record<string, unknown>>));
      cursor = r.json.nextCursor as string | null;
      pages++;
    } while (cursor !== null && pages < 20);
    return { items, pages };
  }

  it('lists presentities with views, filtered by domain, paged by cursor', async () => {
    const { items, pages } = await all('/admin/presentities?domain=admin.example', 2);
    expect(items.map((v) => v.uri)).toEqual(['ann', 'bea', 'cid', 'dan', 'eve'].map((u) => `sip:${u}@admin.example`));
    expect(pages).toBe(3);
    expect(items[0]).toMatchObject({ status: 'away', note: 'ann' });
    expect(items[0]?.devices).toHaveLength(2);
    const everyone = await all('/admin/presentities', 100);
    expect(everyone.items.map((v) => v.uri)).toContain('sip:zed@elsewhere.example');
  });

  it('inspects one presentity: view, publications with bodies, subscriptions and watchers', async () => {
    await subscribe('sip:bea@admin.example', 'sip:insp@admin.example');
    const r = await admin.get('/admin/presentities/admin.example/bea');
    expect(r.status).toBe(200);
    expect(r.json.view).toMatchObject({ uri: 'sip:bea@admin.example', status: 'online' });
    expect(r.json.publications).toEqual([expect.objectContaining({ source: 'http', client: 'default', contentType: 'application/pidf+xml' })]);
    expect(r.json.publications[0].body).toContain('<note>bea</note>');
    expect(r.json.subscriptions).toEqual([expect.objectContaining({ watcher: 'sip:insp@admin.example', state: 'active', event: 'presence', transport: 'udp' })]);
    expect(r.json.watchers).toEqual([expect.objectContaining({ watcher: 'sip:insp@admin.example', status: 'active' })]);
  });

  it('lists publications by presentity, domain and source, paged', async () => {
    const ann = await admin.get(`/admin/publications?presentity=${encodeURIComponent('sip:ann@admin.example')}`);
    expect(ann.json.items.map((p: { client: string }) => p.client).sort()).toEqual(['default', 'tablet']);
    expect(ann.json.items[0]).not.toHaveProperty('body');
    const { items, pages } = await all('/admin/publications?domain=admin.example&source=http', 4);
    expect(items).toHaveLength(6);
    expect(pages).toBe(2);
    expect(new Set(items.map((p) => p.etag)).size).toBe(6);
    expect((await admin.get('/admin/publications?source=sip')).json.items).toEqual([]);
  });

  it('lists subscriptions and watchers with filters; terminating one NOTIFYs terminated;reason=deactivated', async () => {
    await subscribe('sip:cid@admin.example', 'sip:w1@admin.example');
    await subscribe('sip:cid@admin.example', 'sip:w2@admin.example');
    const subs = await all(`/admin/subscriptions?presentity=${encodeURIComponent('sip:cid@admin.example')}&state=active`, 1);
    expect(subs.items.map((s) => s.watcher).sort()).toEqual(['sip:w1@admin.example', 'sip:w2@admin.example']);
    const byWatcher = await admin.get(`/admin/subscriptions?watcher=${encodeURIComponent('sip:w2@admin.example')}`);
    expect(byWatcher.json.items).toHaveLength(1);
    const id = byWatcher.json.items[0].id as string;
    expect((await admin.get(`/admin/subscriptions/${id}`)).json).toMatchObject({ id, presentity: 'sip:cid@admin.example', watcher: 'sip:w2@admin.example' });

    const callId = (await admin.get(`/admin/subscriptions/${id}`)).json.callId as string;
    expect((await admin.delete(`/admin/subscriptions/${id}`)).status).toBe(204);
    const n = await sip.waitForRequest('NOTIFY', (x) => x.headers.get('call-id') === callId && /^terminated/.test(x.headers.get('subscription-state') ?? ''), 8000, true);
    expect(n.headers.get('subscription-state')).toBe('terminated;reason=deactivated');
    expect((await admin.get(`/admin/subscriptions/${id}`)).status).toBe(404);
    expect((await admin.delete(`/admin/subscriptions/${id}`)).json).toEqual({ code: 'NOT_FOUND', message: `no subscription ${id}` });

    const watchers = await admin.get(`/admin/watchers?presentity=${encodeURIComponent('sip:cid@admin.example')}`);
    const w2 = (watchers.json.items as Array<Record<string, unknown>>).find((w) => w.watcher === 'sip:w2@admin.example');
    expect(w2).toMatchObject({ status: 'terminated', lastEvent: 'deactivated' });
    const active = await all('/admin/watchers?status=active', 1);
    expect(active.items.map((w) => w.watcher)).toEqual(expect.arrayContaining(['sip:w1@admin.example']));
    expect(active.items.map((w) => w.watcher)).not.toContain('sip:w2@admin.example');
  });

  it('refuses a cursor it did not hand out, and a filter that is not a URI', async () => {
    const r = await admin.get('/admin/subscriptions?cursor=bm90LWpzb24');
    expect(r.status).toBe(400);
    expect(r.json.message).toBe('querystring.cursor is not a cursor this listing handed out');
    expect((await admin.get('/admin/publications?presentity=alice')).json.message).toBe('querystring.presentity is not a sip: URI');
  });

  it('POST /admin/sweep runs the sweeper now: an expired HTTP publication goes and its watcher hears closed', async () => {
    const p = 'sip:short@admin.example';
    await subscribe(p, 'sip:sw@admin.example');
    await admin.put('/v1/presence/admin.example/short', { status: 'online', note: 'brief', ttlSeconds: 1 });
    await sip.waitForRequest('NOTIFY', (n) => n.body.toString().includes('brief'), 8000, true);
    await sleep(1300);
    const r = await admin.post('/admin/sweep', undefined);
    expect(r.status).toBe(200);
    expect(r.json.swept.publications).toBeGreaterThanOrEqual(1);
    expect(r.json.counters.sweeps).toBeGreaterThanOrEqual(1);
    await sip.waitForRequest('NOTIFY', (n) => (n.headers.get('from') ?? '').includes(p) && n.body.toString().includes('<basic>closed</basic>'), 8000, true);
    expect((await admin.get('/admin/publications?presentity=sip:short@admin.example')).json.items).toEqual([]);
  });

  it('GET /admin/config shows the effective parameters with secrets redacted', async () => {
    const r = await admin.get('/admin/config');
    expect(r.status).toBe(200);
    const p = r.json.parameters;
    expect(p.db_url).toBe('[redacted]');
    expect(p.api_tokens).toBe('[redacted]');
    expect(p.max_expires).toBe(3600);
    expect(p.min_expires).toBe(1);
    expect(p.default_ttl).toBe(300);
    expect(r.text).not.toContain(TOKENS.admin);
  });

  it('GET /metrics: requests by method and code, NOTIFYs, active subscriptions and presentities, sweeps, database latency', async () => {
    const r = await admin.get('/metrics', { token: null });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const value = (line: string): number => {
      const m = new RegExp(`^${line.replace(/[{}()[\]."/:]/g, '\\$&')} (\\S+)$`, 'm').exec(r.text);
      if (!m) throw new Error(`no metric line ${line}`);
      return Number(m[1]);
    };
    expect(value('herald_http_requests_total{method="PUT",route="/v1/presence/:domain/:user",status="201"}')).toBeGreaterThanOrEqual(6);
    expect(value('herald_http_requests_total{method="DELETE",route="/admin/subscriptions/:id",status="204"}')).toBe(1);
    expect(value('herald_notify_sent_total')).toBeGreaterThan(0);
    expect(r.text).toMatch(/^herald_notify_failed_total \d+$/m);
    expect(value('herald_subscriptions_active')).toBeGreaterThanOrEqual(2);
    expect(value('herald_presentities_active')).toBeGreaterThanOrEqual(6);
    expect(value('herald_sweeps_total')).toBeGreaterThanOrEqual(1);
    expect(value('herald_sweep_publications_expired_total')).toBeGreaterThanOrEqual(1);
    expect(value('herald_db_up')).toBe(1);
    expect(value('herald_db_ping_seconds')).toBeGreaterThan(0);
    expect(r.text).toMatch(/^# TYPE herald_sip_requests_total counter$/m);
    expect(r.text).toMatch(/^herald_process_cpu_seconds_total /m);
  });
});
