/**
 * Apps (issue 9, seed 002 "For App Developers"): an app is registered (appId and a secret), a user
 * grants it access to their presence with their own token (or an admin does) and can revoke it; the
 * app's token sees only the users who granted it, and its stream carries every granted user's
 * changes. Also: a restart of Herald keeps HTTP subscriptions (they are in the database).
 * Real HTTP and SIP on loopback, real database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHerald, type RunningHerald } from '../support/herald';
import { createPostgresTestDb, dropTestDb } from '../support/db';
import { API_TOKENS, HttpTestClient, TOKENS } from '../support/http-client';
import { StreamReader } from '../support/event-stream';
import { SipTestClient, pidf } from '../support/sip-client';

const ALICE_TOKEN = 'alice-token-0123456789';
const TOKENS_WITH_USERS = [...API_TOKENS, { token: ALICE_TOKEN, scopes: ['presence:read', 'presence:write'], user: 'sip:alice@example.com' }];

describe('apps (seed 002)', () => {
  let h: RunningHerald;
  let admin: HttpTestClient;
  let sip: SipTestClient;
  const streams: StreamReader[] = [];
  beforeAll(async () => {
    h = await startHerald({ api_tokens: TOKENS_WITH_USERS });
    admin = new HttpTestClient(h.http as { host: string; port: number }, TOKENS.admin);
    sip = await SipTestClient.open('udp', h.udp);
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await sip.close();
    await h.stop();
  });

  it('an app sees only the users who granted it; its stream carries their changes; a revoked user is no longer seen', async () => {
    const made = await admin.post('/v1/apps', { name: 'buddy list' });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ appId: expect.any(String), token: expect.stringMatching(/^hra_/), webhookSecret: expect.any(String) });
    const { appId, token } = made.json as { appId: string; token: string };
    const app = admin.withToken(token);
    await admin.put('/v1/presence/example.com/bob', { status: 'away' });
    // Before any grant the app sees no one.
    expect((await app.get('/v1/presence/example.com/alice')).status).toBe(403);
    // alice grants it with her own token; bob's grant cannot be made by alice.
    const grant = await admin.put(`/v1/apps/${appId}/grants/example.com/alice`, undefined, { token: ALICE_TOKEN });
    expect(grant.status).toBe(201);
    const notHers = await admin.put(`/v1/apps/${appId}/grants/example.com/bob`, undefined, { token: ALICE_TOKEN });
    expect([notHers.status, notHers.json.code]).toEqual([403, 'FORBIDDEN']);
    expect((await app.get('/v1/presence/example.com/alice')).json.status).toBe('offline');
    const bob = await app.get('/v1/presence/example.com/bob');
    expect([bob.status, bob.json.code]).toEqual([403, 'FORBIDDEN']);
    expect((await app.post('/v1/presence/query', { uris: ['sip:alice@example.com', 'sip:bob@example.com'] })).status).toBe(403);
    expect((await app.get('/v1/presence/example.com')).status).toBe(403);
    expect((await app.get('/v1/subscribers/example.com/alice')).status).toBe(403);

    // seed 002: GET <appid>/presence.json — a stream of [uri, status] for the granted users.
    const s = await StreamReader.open(h.http as { host: string; port: number }, `/v1/apps/${appId}/stream`, token, { ndjson: true });
    streams.push(s);
    expect(s.status).toBe(200);
    const r = await sip.request('PUBLISH', 'sip:alice@example.com', [['From', '<sip:alice@example.com>;tag=a1'], ['Event', 'presence'], ['Expires', '120'], ['Content-Type', 'application/pidf+xml']], pidf('sip:alice@example.com', 'open'));
    expect(r.status).toBe(200);
    await admin.put('/v1/presence/example.com/bob', { status: 'online' });
    await s.until((x) => x.lines.length >= 2);
    await new Promise((res) => setTimeout(res, 300));
    // The grant's first event (alice's status then), the phone's PUBLISH; bob (not granted) never appears.
    expect(s.lines).toEqual([['sip:alice@example.com', 'offline'], ['sip:alice@example.com', 'online']]);

    const info = await app.get(`/v1/apps/${appId}`);
    expect(info.json.grants).toEqual(['sip:alice@example.com']);
    // An app cannot read another app, nor make timed subscriptions outside its grants.
    expect((await app.post('/v1/subscriptions', { uris: ['sip:bob@example.com'], durationMinutes: 5 })).status).toBe(403);

    expect((await admin.delete(`/v1/apps/${appId}/grants/example.com/alice`, { token: ALICE_TOKEN })).status).toBe(204);
    expect((await app.get('/v1/presence/example.com/alice')).status).toBe(403);
    const before = s.lines.length;
    await admin.put('/v1/presence/example.com/alice', { status: 'away' });
    await new Promise((res) => setTimeout(res, 400));
    expect(s.lines.length).toBe(before);
  });

  it('an admin grants for any user; an unknown app is 404; a token without scope cannot register apps', async () => {
    const { appId } = (await admin.post('/v1/apps', { name: 'other' })).json as { appId: string };
    expect((await admin.put(`/v1/apps/${appId}/grants/example.com/carol`, undefined)).status).toBe(201);
    expect((await admin.put(`/v1/apps/${appId}/grants/example.com/carol`, undefined)).status).toBe(200);
    const unknown = await admin.put('/v1/apps/nope/grants/example.com/carol', undefined);
    expect([unknown.status, unknown.json.code]).toEqual([404, 'NOT_FOUND']);
    expect((await admin.post('/v1/apps', { name: 'x' }, { token: TOKENS.rw })).status).toBe(403);
    const bad = await admin.post('/v1/apps', { name: 'x', webhookUrl: 'http://198.51.100.7/hook' });
    expect([bad.status, bad.json.code]).toEqual([400, 'BAD_REQUEST']);
    expect(bad.json.message).toMatch(/body\.webhookUrl/);
  });
});

describe('a restart of Herald keeps HTTP subscriptions; the graceful stop ends held requests and streams', () => {
  const pg = process.env.HERALD_TEST_DB_URL;
  let dbUrl: string;
  let dir: string | null = null;
  beforeAll(async () => {
    if (pg) dbUrl = await createPostgresTestDb(pg);
    else {
      dir = mkdtempSync(join(tmpdir(), 'herald-restart-'));
      dbUrl = dir;
    }
  });
  afterAll(async () => {
    if (pg) await dropTestDb(dbUrl);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stop the app, start a new one on the same database: the subscription and its cursor are served', async () => {
    const a = await startHerald({ db_url: dbUrl, api_tokens: API_TOKENS });
    const ha = new HttpTestClient(a.http as { host: string; port: number }, TOKENS.admin);
    const made = await ha.post('/v1/subscriptions', { uris: ['sip:survivor@example.com'], durationMinutes: 30 });
    expect(made.status).toBe(201);
    await ha.put('/v1/presence/example.com/survivor', { status: 'busy', ttlSeconds: 600 });
    // Read until the write's event has come (the first event, offline, may come alone).
    let cursor = 0;
    for (let i = 0; i < 5; i++) {
      const seen = await ha.get(`/v1/subscriptions/${made.json.id}/events?ack=${cursor}&timeoutSec=5`);
      const events = seen.json.events as Array<{ seq: number; status: string }>;
      cursor = events[events.length - 1]?.seq ?? cursor;
      if (events.some((e) => e.status === 'busy')) break;
    }
    expect(cursor).toBe(2);
    // The graceful stop answers a held GET (empty batch, the cursor unchanged) and ends the streams.
    const stream = await StreamReader.open(a.http as { host: string; port: number }, `/v1/subscriptions/${made.json.id}/stream`, TOKENS.admin, { lastEventId: String(cursor) });
    const pending = ha.get(`/v1/subscriptions/${made.json.id}/events?ack=${cursor}&timeoutSec=60`);
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await a.stop();
    expect(Date.now() - t0).toBeLessThan(5000);
    const answered = await pending;
    expect([answered.status, answered.json.events]).toEqual([200, []]);
    expect(answered.json._links.next.href).toBe(`/v1/subscriptions/${made.json.id}/events?ack=${cursor}`);
    await stream.until((x) => x.ended, 3000);

    const b = await startHerald({ db_url: dbUrl, api_tokens: API_TOKENS });
    try {
      const hb = new HttpTestClient(b.http as { host: string; port: number }, TOKENS.admin);
      const got = await hb.get(`/v1/subscriptions/${made.json.id}`);
      expect(got.status).toBe(200);
      expect(got.json).toMatchObject({ id: made.json.id, state: 'active', uris: ['sip:survivor@example.com'], expiresAt: made.json.expiresAt });
      const held = hb.get(`/v1/subscriptions/${made.json.id}/events?ack=${cursor}&timeoutSec=10`);
      await new Promise((r) => setTimeout(r, 200));
      await hb.put('/v1/presence/example.com/survivor', { status: 'away', ttlSeconds: 600 });
      const next = await held;
      expect(next.json.events).toEqual([expect.objectContaining({ seq: cursor + 1, status: 'away' })]);
    } finally {
      await b.stop();
    }
  });
});
