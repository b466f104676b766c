/**
 * Bearer tokens (issue 8, RFC 6750): from api_tokens and from API keys made through /admin; 401
 * for a missing or unknown token, 403 for a missing scope or domain; with no token at all the API
 * is closed (401) while health and metrics stay open.
 */
import { startHerald, type RunningHerald } from '../support/herald';
import { API_TOKENS, HttpTestClient, TOKENS } from '../support/http-client';

describe('HTTP API auth', () => {
  let h: RunningHerald;
  let http: HttpTestClient;
  beforeAll(async () => {
    h = await startHerald({ api_tokens: API_TOKENS });
    http = new HttpTestClient(h.http as { host: string; port: number });
  });
  afterAll(async () => {
    await h.stop();
  });

  describe('401', () => {
    it('without Authorization: 401 with WWW-Authenticate Bearer and a JSON error', async () => {
      const r = await http.get('/v1/presence/example.com/alice');
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="herald"');
      expect(r.json).toEqual({ code: 'UNAUTHENTICATED', message: 'missing bearer token' });
    });

    it('an unknown token: 401 invalid_token; a token is never echoed back', async () => {
      const r = await http.get('/v1/presence/example.com/alice', { token: 'not-a-real-token-0123' });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(r.text).not.toContain('not-a-real-token');
    });

    it('another scheme or a malformed header: 401', async () => {
      for (const authorization of ['Basic YWxpY2U6c2VjcmV0', 'Bearer', `Bearer ${TOKENS.rw} extra`, TOKENS.rw]) {
        const r = await http.get('/v1/presence/example.com/alice', { token: null, headers: { authorization } });
        expect(r.status).toBe(401);
      }
    });

    it('is decided before the body is read or validated (no token + bad body → 401, not 400)', async () => {
      const r = await http.put('/v1/presence/example.com/alice', { status: 'nonsense' });
      expect(r.status).toBe(401);
      const admin = await http.post('/admin/sweep', {});
      expect(admin.status).toBe(401);
    });

    it('a prefix or a case change of a valid token is refused', async () => {
      expect((await http.get('/v1/presence/example.com/a', { token: TOKENS.rw.slice(0, -1) })).status).toBe(401);
      expect((await http.get('/v1/presence/example.com/a', { token: TOKENS.rw.toUpperCase() })).status).toBe(401);
      expect((await http.get('/v1/presence/example.com/a', { token: `${TOKENS.rw}x` })).status).toBe(401);
    });
  });

  describe('403', () => {
    it('presence:read only: GET is 200, PUT and DELETE are 403 insufficient_scope', async () => {
      const reader = http.withToken(TOKENS.read);
      expect((await reader.get('/v1/presence/example.com/alice')).status).toBe(200);
      const put = await reader.put('/v1/presence/example.com/alice', { status: 'online' });
      expect(put.status).toBe(403);
      expect(put.json).toEqual({ code: 'FORBIDDEN', message: 'token lacks scope presence:write' });
      expect(put.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
      expect((await reader.delete('/v1/presence/example.com/alice')).status).toBe(403);
    });

    it('a token limited to example.com: its domain is allowed, another domain is 403 (path and query uris)', async () => {
      const limited = http.withToken(TOKENS.exampleOnly);
      expect((await limited.put('/v1/presence/example.com/dom', { status: 'online' })).status).toBe(201);
      expect((await limited.put('/v1/presence/EXAMPLE.com/dom', { status: 'online' })).status).toBe(200);
      const other = await limited.put('/v1/presence/other.org/dom', { status: 'online' });
      expect(other.status).toBe(403);
      expect(other.json.message).toBe('token is not valid for domain other.org');
      expect((await limited.get('/v1/presence/other.org')).status).toBe(403);
      expect((await limited.post('/v1/presence/query', { uris: ['sip:dom@example.com'] })).status).toBe(200);
      expect((await limited.post('/v1/presence/query', { uris: ['sip:dom@example.com', 'sip:x@other.org'] })).status).toBe(403);
    });

    it('/admin needs scope admin and no domain limit', async () => {
      expect((await http.get('/admin/config', { token: TOKENS.rw })).status).toBe(403);
      expect((await http.get('/admin/config', { token: TOKENS.exampleOnly })).status).toBe(403);
      expect((await http.get('/admin/config', { token: TOKENS.admin })).status).toBe(200);
    });

    it('admin has every scope', async () => {
      const admin = http.withToken(TOKENS.admin);
      expect((await admin.put('/v1/presence/example.com/by-admin', { status: 'online' })).status).toBe(201);
      expect((await admin.get('/v1/presence/example.com/by-admin')).json.status).toBe('online');
    });
  });

  describe('API keys (/admin/api-keys)', () => {
    it('a key is shown once, works with its scopes and domains, is listed without its token, and stops working when deleted', async () => {
      const admin = http.withToken(TOKENS.admin);
      const made = await admin.post('/admin/api-keys', { name: 'web app', scopes: ['presence:read'], domains: ['Keys.example'] });
      expect(made.status).toBe(201);
      expect(made.json).toMatchObject({ name: 'web app', scopes: ['presence:read'], domains: ['keys.example'] });
      const { token, id } = made.json as { token: string; id: string };
      expect(token).toMatch(/^hrk_[A-Za-z0-9_-]{43}$/);
      expect(made.headers.get('location')).toBe(`/admin/api-keys/${id}`);

      const key = http.withToken(token);
      expect((await key.get('/v1/presence/keys.example/bob')).status).toBe(200);
      expect((await key.get('/v1/presence/other.example/bob')).status).toBe(403);
      expect((await key.put('/v1/presence/keys.example/bob', { status: 'online' })).status).toBe(403);

      const list = await admin.get('/admin/api-keys');
      expect(list.status).toBe(200);
      const listed = (list.json.items as Array<Record<string, unknown>>).find((k) => k.id === id);
      expect(listed).toMatchObject({ name: 'web app', tokenPrefix: token.slice(0, 10) });
      expect(listed).not.toHaveProperty('token');
      expect(list.text).not.toContain(token);

      expect((await admin.delete(`/admin/api-keys/${id}`)).status).toBe(204);
      expect((await key.get('/v1/presence/keys.example/bob')).status).toBe(401);
      expect((await admin.delete(`/admin/api-keys/${id}`)).status).toBe(404);
    });

    it('refuses unknown scopes and missing fields, naming them', async () => {
      const admin = http.withToken(TOKENS.admin);
      const bad = await admin.post('/admin/api-keys', { name: 'x', scopes: ['root'] });
      expect(bad.status).toBe(400);
      expect(bad.json.message).toMatch(/^body\.scopes\.0 must be one of presence:read, presence:write, subscriptions, admin$/);
      const missing = await admin.post('/admin/api-keys', { scopes: ['admin'] });
      expect(missing.json.message).toBe('body.name is required');
    });

    it('a key with scope admin may manage keys', async () => {
      const made = await http.post('/admin/api-keys', { name: 'ops', scopes: ['admin'] }, { token: TOKENS.admin });
      const ops = http.withToken(made.json.token as string);
      expect((await ops.get('/admin/api-keys')).status).toBe(200);
      expect((await ops.delete(`/admin/api-keys/${made.json.id as string}`)).status).toBe(204);
    });
  });

  it('health, readiness, metrics and the OpenAPI document need no token', async () => {
    expect((await http.get('/healthz')).status).toBe(200);
    expect((await http.get('/readyz')).status).toBe(200);
    expect((await http.get('/metrics')).status).toBe(200);
    expect((await http.get('/v1/openapi.json')).status).toBe(200);
  });
});

describe('HTTP API with no token configured and no API key', () => {
  let h: RunningHerald;
  let http: HttpTestClient;
  beforeAll(async () => {
    h = await startHerald();
    http = new HttpTestClient(h.http as { host: string; port: number });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('answers 401 to every API request and says how to configure a token', async () => {
    for (const [method, path] of [['GET', '/v1/presence/example.com/alice'], ['PUT', '/v1/presence/example.com/alice'], ['GET', '/admin/config']] as const) {
      const r = await http.request(method, path, { token: 'whatever-token-123', ...(method === 'PUT' ? { body: { status: 'online' } } : {}) });
      expect(r.status).toBe(401);
      expect(r.json.message).toMatch(/no API token is configured; set api_tokens \(e\.g\. HERALD_API_TOKENS=/);
    }
  });

  it('keeps health and metrics open', async () => {
    expect((await http.get('/healthz')).json).toEqual({ status: 'ok' });
    expect((await http.get('/metrics')).status).toBe(200);
  });
});
