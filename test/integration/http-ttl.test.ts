/**
 * ttlSeconds (seed 004: "each presence record is automatically deleted a predetermined amount of
 * time after its creation"): an HTTP write expires like any publication — the sweeper
 * (clean_period) removes it, SIP watchers get the closed document, HTTP readers see offline.
 */
import { startHerald, type RunningHerald } from '../support/herald';
import { API_TOKENS, HttpTestClient, TOKENS } from '../support/http-client';
import { SipTestClient } from '../support/sip-client';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('HTTP ttlSeconds expiry', () => {
  let h: RunningHerald;
  let http: HttpTestClient;
  let sip: SipTestClient;
  beforeAll(async () => {
    h = await startHerald({ api_tokens: API_TOKENS, min_expires: 1, clean_period: 1 });
    http = new HttpTestClient(h.http as { host: string; port: number }, TOKENS.rw);
    sip = await SipTestClient.open('udp', h.udp);
  });
  afterAll(async () => {
    await sip.close();
    await h.stop();
  });

  it('ttlSeconds 1: gone after the sweep; the watcher hears closed, GET says offline, the listing drops it', async () => {
    const p = 'sip:brief@ttl.example';
    const sub = await sip.request('SUBSCRIBE', p, [
      ['From', '<sip:watcher@ttl.example>;tag=ttlw'], ['To', `<${p}>`], ['Event', 'presence'], ['Expires', '600'], ['Contact', `<${sip.contact()}>`],
    ]);
    expect(sub.status).toBe(200);
    await http.put('/v1/presence/ttl.example/stays', { status: 'online', ttlSeconds: 600 });
    const put = await http.put('/v1/presence/ttl.example/brief', { status: 'online', note: 'for a second', ttlSeconds: 1 });
    expect(put.status).toBe(201);
    expect(put.json.ttlSeconds).toBe(1);
    await sip.waitForRequest('NOTIFY', (n) => n.body.toString().includes('for a second'), 8000, true);

    const closed = await sip.waitForRequest('NOTIFY', (n) => n.body.toString().includes('<basic>closed</basic>'), 10_000, true);
    expect(closed.headers.get('subscription-state')).toMatch(/^active/);
    expect(closed.body.toString()).toContain('id="http-default"');

    const got = await http.get('/v1/presence/ttl.example/brief');
    expect(got.json).toMatchObject({ status: 'offline', devices: [] });
    expect((await http.get('/v1/presence/ttl.example')).json.map((v: { uri: string }) => v.uri)).toEqual(['sip:stays@ttl.example']);
    // The row itself is gone (the sweeper removed it), not merely filtered out as expired.
    const admin = http.withToken(TOKENS.admin);
    expect((await admin.get(`/admin/publications?presentity=${encodeURIComponent(p)}`)).json.items).toEqual([]);
    expect(h.app.sweeper.counters.publicationsExpired).toBeGreaterThanOrEqual(1);
  });

  it('a write refreshes the lifetime: each replace moves expiresAt from its own time', async () => {
    const first = await http.put('/v1/presence/ttl.example/keeper', { status: 'online', ttlSeconds: 60 });
    await sleep(20);
    const second = await http.put('/v1/presence/ttl.example/keeper', { status: 'online', ttlSeconds: 60 });
    expect(second.status).toBe(200);
    expect(Date.parse(second.json.expiresAt)).toBeGreaterThan(Date.parse(first.json.expiresAt));
    const got = await http.get('/v1/presence/ttl.example/keeper');
    expect(got.json.devices).toEqual([expect.objectContaining({ expiresAt: second.json.expiresAt })]);
  });
});
