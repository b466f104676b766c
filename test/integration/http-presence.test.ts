/**
 * The HTTP presence API over real HTTP against a running Herald (issue 8, seeds 000 and 004): an HTTP
 * write is a publication that SIP watchers are NOTIFYed of, and a phone's PUBLISH is what HTTP
 * readers see. Runs on PGlite, and on PostgreSQL with HERALD_TEST_DB_URL.
 */
import { startHerald, type RunningHerald } from '../support/herald';
import { API_TOKENS, HttpTestClient, TOKENS } from '../support/http-client';
import { SipTestClient, pidf } from '../support/sip-client';
import type { SipRequest } from '../../src/sip/message';

const PIDF = 'application/pidf+xml';

describe('HTTP presence API', () => {
  let h: RunningHerald;
  let http: HttpTestClient;
  let sip: SipTestClient;
  beforeAll(async () => {
    h = await startHerald({ api_tokens: API_TOKENS });
    http = new HttpTestClient(h.http as { host: string; port: number }, TOKENS.rw);
    sip = await SipTestClient.open('udp', h.udp);
  });
  afterAll(async () => {
    await sip.close();
    await h.stop();
  });

  /** A SIP watcher of `presentity`; resolves after its first NOTIFY. */
  async function watch(presentity: string, watcher: string): Promise<void> {
    const r = await sip.request('SUBSCRIBE', presentity, [
      ['From', `<${watcher}>;tag=${Math.random().toString(36).slice(2)}`], ['To', `<${presentity}>`], ['Event', 'presence'],
      ['Expires', '600'], ['Contact', `<${sip.contact()}>`],
    ]);
    expect(r.status).toBe(200);
    await sip.waitForRequest('NOTIFY', (n) => fromOf(n, presentity), 5000, true);
  }
  const fromOf = (n: SipRequest, presentity: string): boolean => (n.headers.get('from') ?? '').includes(`<${presentity}>`);
  const notifyOf = (presentity: string, match: (body: string) => boolean): Promise<SipRequest> =>
    sip.waitForRequest('NOTIFY', (n) => fromOf(n, presentity) && match(n.body.toString()), 8000);

  describe('writes (seed 000 register, seed 004 POST)', () => {
    it('PUT creates the default client publication (201), a second PUT replaces it (200), GET shows it', async () => {
      const first = await http.put('/v1/presence/example.com/alice', { status: 'busy', note: 'In a meeting', ttlSeconds: 120 });
      expect(first.status).toBe(201);
      expect(first.json).toMatchObject({ uri: 'sip:alice@example.com', client: 'default', status: 'busy', note: 'In a meeting', ttlSeconds: 120, source: 'http' });
      expect(Date.parse(first.json.expiresAt) - Date.parse(first.json.lastModified)).toBe(120_000);
      const second = await http.put('/v1/presence/example.com/alice', { status: 'away' });
      expect(second.status).toBe(200);
      const got = await http.get('/v1/presence/example.com/alice');
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toMatch(/^application\/json/);
      expect(got.json).toMatchObject({ uri: 'sip:alice@example.com', status: 'away', note: null, lastModified: second.json.lastModified });
      expect(got.json.devices).toEqual([
        { client: 'default', status: 'away', source: 'http', lastActive: second.json.lastModified, ttlSeconds: expect.any(Number), expiresAt: second.json.expiresAt },
      ]);
      expect(got.json.devices[0].ttlSeconds).toBeLessThanOrEqual(300);
    });

    it('POST is accepted too and returns the record; ttlSeconds defaults to default_ttl and is bounded by max_expires', async () => {
      const dflt = await http.post('/v1/presence/example.com/post-user', { status: 'online' });
      expect([200, 201]).toContain(dflt.status);
      expect(dflt.json).toMatchObject({ uri: 'sip:post-user@example.com', status: 'online', ttlSeconds: 300 });
      const capped = await http.post('/v1/presence/example.com/post-user', { status: 'online', ttlSeconds: 999_999 });
      expect(capped.status).toBe(200);
      expect(capped.json.ttlSeconds).toBe(3600);
    });

    it('each client has its own publication; the composed status follows RPID (busy wins over online)', async () => {
      expect((await http.put('/v1/presence/example.com/multi/clients/phone', { status: 'online' })).status).toBe(201);
      expect((await http.put('/v1/presence/example.com/multi/clients/desk', { status: 'busy', note: 'Call' })).status).toBe(201);
      const got = await http.get('/v1/presence/example.com/multi');
      expect(got.json.status).toBe('busy');
      expect(got.json.note).toBe('Call');
      expect(got.json.devices.map((d: { client: string; status: string }) => [d.client, d.status]).sort()).toEqual([['desk', 'busy'], ['phone', 'online']]);
      expect((await http.delete('/v1/presence/example.com/multi/clients/desk')).status).toBe(204);
      const after = await http.get('/v1/presence/example.com/multi');
      expect(after.json.status).toBe('online');
      expect(after.json.devices).toHaveLength(1);
    });

    it('DELETE answers 204 (also when nothing was published) and the user reads offline with no devices', async () => {
      await http.put('/v1/presence/example.com/gone', { status: 'online' });
      expect((await http.delete('/v1/presence/example.com/gone')).status).toBe(204);
      expect((await http.delete('/v1/presence/example.com/gone')).status).toBe(204);
      const got = await http.get('/v1/presence/example.com/gone');
      expect(got.json).toEqual({ uri: 'sip:gone@example.com', status: 'offline', note: null, lastModified: null, devices: [] });
    });

    it('the domain is case-insensitive: Example.COM names the same presentity', async () => {
      await http.put('/v1/presence/Example.COM/casey', { status: 'online' });
      expect((await http.get('/v1/presence/example.com/casey')).json.uri).toBe('sip:casey@example.com');
    });
  });

  describe('bridged to SIP', () => {
    it('a PUT makes a SIP watcher receive a NOTIFY whose PIDF is the one GET serves as application/pidf+xml', async () => {
      const p = 'sip:bridge@example.com';
      await watch(p, 'sip:watcher1@example.com');
      expect((await http.put('/v1/presence/example.com/bridge', { status: 'busy', note: 'On a call' })).status).toBe(201);
      const n = await notifyOf(p, (b) => b.includes('On a call'));
      expect(n.headers.get('content-type')).toBe(PIDF);
      expect(n.headers.get('subscription-state')).toMatch(/^active/);
      const body = n.body.toString();
      expect(body).toContain('<basic>open</basic>');
      expect(body).toContain('<rpid:busy/>');
      const got = await http.get('/v1/presence/example.com/bridge', { headers: { accept: PIDF } });
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toMatch(/^application\/pidf\+xml/);
      expect(got.text).toBe(body);
    });

    it('a DELETE tells the SIP watcher: the NOTIFY says closed', async () => {
      const p = 'sip:leaver@example.com';
      await watch(p, 'sip:watcher2@example.com');
      await http.put('/v1/presence/example.com/leaver', { status: 'online', note: 'here' });
      await notifyOf(p, (b) => b.includes('<basic>open</basic>'));
      expect((await http.delete('/v1/presence/example.com/leaver')).status).toBe(204);
      const closed = await notifyOf(p, (b) => b.includes('<basic>closed</basic>'));
      expect(closed.body.toString()).not.toContain('<basic>open</basic>');
    });

    it('a SIP PUBLISH is what GET then shows (status, note, a sip device)', async () => {
      const p = 'sip:phone@example.com';
      const r = await sip.request('PUBLISH', p, [['From', `<${p}>;tag=pub1`], ['Event', 'presence'], ['Expires', '120'], ['Content-Type', PIDF]], pidf(p, 'open', 'From my phone', 'ph1'));
      expect(r.status).toBe(200);
      const got = await http.get('/v1/presence/example.com/phone');
      expect(got.json).toMatchObject({ uri: p, status: 'online', note: 'From my phone' });
      expect(got.json.devices).toHaveLength(1);
      expect(got.json.devices[0]).toMatchObject({ source: 'sip', status: 'online' });
      expect(got.json.devices[0].ttlSeconds).toBeGreaterThan(100);
      // An HTTP client beside the phone: both devices, composed.
      await http.put('/v1/presence/example.com/phone/clients/web', { status: 'away' });
      const both = await http.get('/v1/presence/example.com/phone');
      expect(both.json.status).toBe('away');
      expect(both.json.devices.map((d: { source: string }) => d.source).sort()).toEqual(['http', 'sip']);
      const doc = await http.get('/v1/presence/example.com/phone', { headers: { accept: PIDF } });
      expect(doc.text).toContain('id="ph1"');
      expect(doc.text).toContain('id="http-web"');
    });

    it('hide: the client stays present, SIP watchers get a closed document and HTTP readers see offline', async () => {
      const p = 'sip:hider@example.com';
      await watch(p, 'sip:watcher3@example.com');
      await http.put('/v1/presence/example.com/hider/clients/web', { status: 'online', note: 'visible' });
      await notifyOf(p, (b) => b.includes('visible'));
      const hide = await http.put('/v1/presence/example.com/hider/clients/web', { status: 'hide', note: 'secret' });
      expect(hide.status).toBe(200);
      expect(hide.json).toMatchObject({ status: 'hide', note: null });
      const n = await notifyOf(p, (b) => b.includes('<basic>closed</basic>'));
      expect(n.body.toString()).not.toContain('<basic>open</basic>');
      expect(n.body.toString()).not.toContain('secret');
      const got = await http.get('/v1/presence/example.com/hider');
      expect(got.json.status).toBe('offline');
      expect(got.json.note).toBeNull();
      expect(got.json.devices).toEqual([expect.objectContaining({ client: 'web', status: 'offline', source: 'http' })]);
      const doc = await http.get('/v1/presence/example.com/hider', { headers: { accept: PIDF } });
      expect(doc.text).toBe(n.body.toString());
    });
  });

  describe('content negotiation', () => {
    it('Accept picks JSON or PIDF by q; nothing acceptable is 406; unpublished PIDF is one closed tuple', async () => {
      const path = '/v1/presence/example.com/nobody';
      expect((await http.get(path, { headers: { accept: '*/*' } })).headers.get('content-type')).toMatch(/json/);
      expect((await http.get(path, { headers: { accept: `application/json;q=0.5, ${PIDF}` } })).headers.get('content-type')).toMatch(/pidf/);
      expect((await http.get(path, { headers: { accept: `${PIDF};q=0.1, application/json` } })).headers.get('content-type')).toMatch(/json/);
      const none = await http.get(path, { headers: { accept: 'text/html' } });
      expect(none.status).toBe(406);
      expect(none.json.code).toBe('NOT_ACCEPTABLE');
      const doc = await http.get(path, { headers: { accept: PIDF } });
      expect(doc.text).toContain('entity="sip:nobody@example.com"');
      expect(doc.text).toContain('<basic>closed</basic>');
    });
  });

  describe('several users (seed 004 GET, seed 000 /presence/q)', () => {
    beforeAll(async () => {
      for (const u of ['list-c', 'list-a', 'list-e', 'list-b', 'list-d']) {
        expect((await http.put(`/v1/presence/list.example/${u}`, { status: 'online', note: u })).status).toBe(201);
      }
    });

    it('?user=a&user=b answers those users in the order asked, offline ones included', async () => {
      const r = await http.get('/v1/presence/list.example?user=list-d&user=nobody&user=list-a');
      expect(r.status).toBe(200);
      expect(r.json.map((v: { uri: string; status: string }) => [v.uri, v.status])).toEqual([
        ['sip:list-d@list.example', 'online'], ['sip:nobody@list.example', 'offline'], ['sip:list-a@list.example', 'online'],
      ]);
    });

    it('without users: everyone with a live publication in the domain, sorted, 200 and Accept-Ranges records', async () => {
      const r = await http.get('/v1/presence/list.example');
      expect(r.status).toBe(200);
      expect(r.headers.get('accept-ranges')).toBe('records');
      expect(r.json.map((v: { uri: string }) => v.uri)).toEqual(['a', 'b', 'c', 'd', 'e'].map((x) => `sip:list-${x}@list.example`));
      expect((await http.get('/v1/presence/empty.example')).json).toEqual([]);
    });

    it('Range: records=i-j → 206 with Content-Range records i-j/total', async () => {
      const r = await http.get('/v1/presence/list.example', { headers: { range: 'records=1-2' } });
      expect(r.status).toBe(206);
      expect(r.headers.get('content-range')).toBe('records 1-2/5');
      expect(r.json.map((v: { note: string }) => v.note)).toEqual(['list-b', 'list-c']);
      const tail = await http.get('/v1/presence/list.example', { headers: { range: 'records 3-20' } });
      expect(tail.status).toBe(206);
      expect(tail.headers.get('content-range')).toBe('records 3-4/5');
      expect(tail.json).toHaveLength(2);
      const open = await http.get('/v1/presence/list.example', { headers: { range: 'records=4-' } });
      expect(open.headers.get('content-range')).toBe('records 4-4/5');
    });

    it('a range starting past the end is 416 with Content-Range records */total (seed 004: 10-15 of 8)', async () => {
      const r = await http.get('/v1/presence/list.example', { headers: { range: 'records=10-15' } });
      expect(r.status).toBe(416);
      expect(r.headers.get('content-range')).toBe('records */5');
      expect(r.json.code).toBe('RANGE_NOT_SATISFIABLE');
      expect((await http.get('/v1/presence/list.example', { headers: { range: 'records=5-5' } })).status).toBe(416);
    });

    it('a malformed records range is 400; another range unit is ignored (RFC 9110)', async () => {
      const bad = await http.get('/v1/presence/list.example', { headers: { range: 'records=3-1' } });
      expect(bad.status).toBe(400);
      expect(bad.json.message).toMatch(/Range/);
      expect((await http.get('/v1/presence/list.example', { headers: { range: 'bytes=0-10' } })).status).toBe(200);
    });

    it('POST /v1/presence/query maps each uri as given to its view', async () => {
      const r = await http.post('/v1/presence/query', { uris: ['sip:list-a@list.example', 'sip:nobody@list.example', '<sip:list-b@LIST.example;transport=tcp>'] });
      expect(r.status).toBe(200);
      expect(Object.keys(r.json)).toEqual(['sip:list-a@list.example', 'sip:nobody@list.example', '<sip:list-b@LIST.example;transport=tcp>']);
      expect(r.json['sip:list-a@list.example']).toMatchObject({ uri: 'sip:list-a@list.example', status: 'online', note: 'list-a' });
      expect(r.json['sip:nobody@list.example']).toMatchObject({ status: 'offline', devices: [] });
      expect(r.json['<sip:list-b@LIST.example;transport=tcp>'].uri).toBe('sip:list-b@list.example');
    });

    it('the query is bounded by max_query_uris and refuses what is not a user URI', async () => {
      const many = Array.from({ length: 101 }, (_, i) => `sip:u${i}@list.example`);
      const r = await http.post('/v1/presence/query', { uris: many });
      expect(r.status).toBe(400);
      expect(r.json.message).toMatch(/body\.uris/);
      const bad = await http.post('/v1/presence/query', { uris: ['sip:ok@list.example', 'mailto:x@y'] });
      expect(bad.status).toBe(400);
      expect(bad.json.message).toBe('body.uris.1 is not a sip: URI of a user');
    });
  });
});
