/**
 * Every HTTP error is JSON {code, message} from the shared error table (issue 8): the domain's
 * errors and fastify's own (unknown route, validation naming the field, bad JSON, body too large,
 * wrong media type); and the OpenAPI document generated from the same schemas.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { startHerald, type RunningHerald } from '../support/herald';
import { dropTestDb, testDbUrl } from '../support/db';
import { API_TOKENS, HttpTestClient, TOKENS } from '../support/http-client';

describe('HTTP errors', () => {
  let h: RunningHerald;
  let http: HttpTestClient;
  beforeAll(async () => {
    h = await startHerald({ api_tokens: API_TOKENS, http_body_limit: 2048, max_page_size: 3 });
    http = new HttpTestClient(h.http as { host: string; port: number }, TOKENS.admin);
  });
  afterAll(async () => {
    await h.stop();
  });

  it('an unknown route is 404 NOT_FOUND in JSON', async () => {
    const r = await http.get('/v1/nothing/here');
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.json).toEqual({ code: 'NOT_FOUND', message: 'no route GET /v1/nothing/here' });
    expect((await http.request('PATCH', '/v1/presence/example.com/alice')).json.code).toBe('NOT_FOUND');
  });

  it('validation errors are 400 BAD_REQUEST naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ status: 'sleeping' }, 'body.status must be one of online, busy, away, offline, hide'],
      [{ note: 'x' }, 'body.status is required'],
      [{ status: 'online', mood: 'happy' }, 'body.mood is not allowed'],
      [{ status: 'online', ttlSeconds: 0 }, 'body.ttlSeconds must be >= 1'],
      [{ status: 'online', ttlSeconds: 1.5 }, 'body.ttlSeconds must be integer'],
      [{ status: 'online', note: 'n'.repeat(1025) }, 'body.note must NOT have more than 1024 characters'],
      [['online'], 'body must be object'],
    ];
    for (const [body, message] of cases) {
      const r = await http.put('/v1/presence/example.com/alice', body);
      expect(r.status).toBe(400);
      expect(r.json).toEqual({ code: 'BAD_REQUEST', message });
    }
  });

  it('path and query validation name the part too', async () => {
    const badUser = await http.put('/v1/presence/example.com/al%20ice', { status: 'online' });
    expect(badUser.status).toBe(400);
    expect(badUser.json.message).toMatch(/^params\.user must match pattern/);
    const badClient = await http.put('/v1/presence/example.com/alice/clients/-x', { status: 'online' });
    expect(badClient.json.message).toMatch(/^params\.client must match pattern/);
    const badDomain = await http.get('/v1/presence/exa_mple.com/alice');
    expect(badDomain.json.message).toMatch(/^params\.domain must match pattern/);
    const extra = await http.get('/v1/presence/example.com?usr=a');
    expect(extra.json.message).toBe('querystring.usr is not allowed');
    const limit = await http.get('/admin/subscriptions?limit=4');
    expect(limit.json.message).toBe('querystring.limit must be <= 3');
  });

  it('a ttlSeconds below min_expires is 400 INTERVAL_TOO_BRIEF (the PUBLISH 423 of HTTP)', async () => {
    const r = await http.put('/v1/presence/example.com/alice', { status: 'online', ttlSeconds: 2 });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ code: 'INTERVAL_TOO_BRIEF', message: 'ttlSeconds must be at least 5 (min_expires)' });
  });

  it('bad JSON is 400 BAD_BODY; an empty JSON body is 400 BAD_BODY', async () => {
    const r = await http.request('PUT', '/v1/presence/example.com/alice', { raw: '{"status": "online"', headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ code: 'BAD_BODY', message: 'body is not valid JSON' });
    const empty = await http.request('PUT', '/v1/presence/example.com/alice', { raw: '', headers: { 'content-type': 'application/json' } });
    expect(empty.status).toBe(400);
    expect(empty.json.code).toBe('BAD_BODY');
  });

  it('a body over http_body_limit is 413 ENTITY_TOO_LARGE', async () => {
    const r = await http.put('/v1/presence/example.com/alice', { status: 'online', note: 'x'.repeat(3000) });
    expect(r.status).toBe(413);
    expect(r.json).toEqual({ code: 'ENTITY_TOO_LARGE', message: 'request body is too large' });
  });

  it('a body that is not JSON is 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const r = await http.request('PUT', '/v1/presence/example.com/alice', { raw: 'status=online', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(r.status).toBe(415);
    expect(r.json.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('without a Range the listing answers at most max_page_size records, 206 when there are more', async () => {
    for (const u of ['p1', 'p2', 'p3', 'p4']) await http.put(`/v1/presence/page.example/${u}`, { status: 'online' });
    const r = await http.get('/v1/presence/page.example');
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe('records 0-2/4');
    expect(r.json).toHaveLength(3);
    const ranged = await http.get('/v1/presence/page.example', { headers: { range: 'records=0-99' } });
    expect(ranged.headers.get('content-range')).toBe('records 0-2/4');
    const users = await http.get(`/v1/presence/page.example?${Array.from({ length: 101 }, (_, i) => `user=u${i}`).join('&')}`);
    expect(users.status).toBe(400);
    expect(users.json.message).toBe('querystring.user must NOT have more than 100 items');
  });

  describe('OpenAPI document', () => {
    it('lists every route with the schemas fastify validates with', async () => {
      const r = await http.get('/v1/openapi.json', { token: null });
      expect(r.status).toBe(200);
      const doc = r.json;
      expect(doc.openapi).toBe('3.1.0');
      const paths = Object.keys(doc.paths);
      for (const p of [
        '/v1/presence/{domain}/{user}', '/v1/presence/{domain}/{user}/clients/{client}', '/v1/presence/{domain}', '/v1/presence/query',
        '/admin/subscriptions/{id}', '/admin/api-keys', '/admin/sweep', '/admin/config', '/metrics', '/healthz', '/readyz',
      ]) expect(paths).toContain(p);
      const put = doc.paths['/v1/presence/{domain}/{user}'].put;
      expect(Object.keys(doc.paths['/v1/presence/{domain}/{user}']).sort()).toEqual(['delete', 'get', 'post', 'put']);
      expect(put['x-scope']).toBe('presence:write');
      expect(put.security).toEqual([{ bearer: [] }]);
      expect(put.requestBody.content['application/json'].schema.properties.status.enum).toEqual(['online', 'busy', 'away', 'offline', 'hide']);
      expect(put.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual(['path:domain', 'path:user']);
      expect(Object.keys(put.responses)).toEqual(expect.arrayContaining(['200', '201', '400', '401', '403', '413']));
      const get = doc.paths['/v1/presence/{domain}/{user}'].get;
      expect(Object.keys(get.responses['200'].content)).toEqual(['application/json', 'application/pidf+xml']);
      const list = doc.paths['/v1/presence/{domain}'].get;
      expect(list.parameters).toEqual(expect.arrayContaining([
        expect.objectContaining({ in: 'query', name: 'user', style: 'form', explode: true }), expect.objectContaining({ in: 'header', name: 'Range' }),
      ]));
      expect(Object.keys(list.responses)).toEqual(expect.arrayContaining(['200', '206', '416']));
      expect(doc.paths['/v1/presence/query'].post.requestBody.content['application/json'].schema.properties.uris.maxItems).toBe(100);
      expect(doc.paths['/healthz'].get.security).toBeUndefined();
      expect(doc.components.securitySchemes.bearer).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    });
  });
});

describe('tokens are never logged', () => {
  it('not at trace level, not on 401 or 403, not when a key is made or used', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } });
    const dbUrl = await testDbUrl();
    const { config } = loadConfig({
      env: {},
      overrides: { db_url: dbUrl, sip_listen: 'udp:127.0.0.1:0', http_listen: '127.0.0.1:0', log_level: 'trace', api_tokens: API_TOKENS },
    });
    const app = await createApp(config, { log: pino({ level: 'trace' }, sink) });
    await app.start();
    try {
      const http = new HttpTestClient(app.addresses().http as { host: string; port: number });
      await http.get('/v1/presence/example.com/a', { token: TOKENS.rw });
      await http.put('/v1/presence/example.com/a', { status: 'online' }, { token: TOKENS.read });
      await http.get('/v1/presence/example.com/a', { token: 'wrong-secret-token-42' });
      await http.get('/v1/presence/example.com/a', { token: null, headers: { authorization: 'Basic c2VjcmV0LXBhc3N3b3Jk' } });
      const made = await http.post('/admin/api-keys', { name: 'k', scopes: ['presence:read'] }, { token: TOKENS.admin });
      await http.get('/v1/presence/example.com/a', { token: made.json.token as string });
    } finally {
      await app.stop();
      await dropTestDb(dbUrl);
    }
    const all = lines.join('');
    expect(all.length).toBeGreaterThan(0);
    for (const secret of [TOKENS.rw, TOKENS.read, TOKENS.admin, 'wrong-secret-token-42', 'c2VjcmV0LXBhc3N3b3Jk', 'hrk_']) expect(all).not.toContain(secret);
  });
});
