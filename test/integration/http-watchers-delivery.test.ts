/**
 * HTTP watchers get what SIP watchers get (issue 9): a phone's PUBLISH reaches an SSE client, a
 * long-poll client (seed 003's event channel) and a webhook receiver (seed 002) exactly once each,
 * in order; cursors resume without loss or duplicates; a failing webhook is retried and signed.
 * Real HTTP and SIP on loopback, real database (PGlite; PostgreSQL with HERALD_TEST_DB_URL).
 */
import { createHmac } from 'node:crypto';
import { startHerald, type RunningHerald } from '../support/herald';
import { API_TOKENS, HttpTestClient, TOKENS } from '../support/http-client';
import { StreamReader, WebhookReceiver } from '../support/event-stream';
import { SipTestClient, pidf } from '../support/sip-client';

const PIDF = 'application/pidf+xml';

describe('HTTP watchers: delivery', () => {
  let h: RunningHerald;
  let http: HttpTestClient;
  let sip: SipTestClient;
  let hook: WebhookReceiver;
  const streams: StreamReader[] = [];
  beforeAll(async () => {
    hook = await WebhookReceiver.start();
    h = await startHerald({ api_tokens: API_TOKENS, webhook_allow_list: [hook.origin], web_event_poll: 100, webhook_retry_base: 50, sse_heartbeat: 1 });
    http = new HttpTestClient(h.http as { host: string; port: number }, TOKENS.admin);
    sip = await SipTestClient.open('udp', h.udp);
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await sip.close();
    await h.stop();
    await hook.close();
  });

  let n = 0;
  async function publish(p: string, basic: 'open' | 'closed'): Promise<void> {
    const r = await sip.request('PUBLISH', p, [['From', `<${p}>;tag=pub${++n}`], ['Event', 'presence'], ['Expires', '120'], ['Content-Type', PIDF]], pidf(p, basic));
    expect(r.status).toBe(200);
  }
  async function subscribe(body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
    const r = await http.post('/v1/subscriptions', { durationMinutes: 10, ...body });
    expect(r.status).toBe(201);
    return r.json;
  }
  async function stream(path: string, o: { ndjson?: boolean; lastEventId?: string } = {}): Promise<StreamReader> {
    const s = await StreamReader.open(h.http as { host: string; port: number }, path, TOKENS.admin, o);
    streams.push(s);
    return s;
  }
  const presence = (s: StreamReader): Array<[string, string]> => s.events.filter((e) => e.event === 'presence').map((e) => [e.data.uri, e.data.status]);

  it('a SIP PUBLISH reaches an SSE client, a long-poll client and a webhook receiver exactly once each, in order', async () => {
    const p = 'sip:deliv@example.com';
    const sub = await subscribe({ uris: [p], webhookUrl: `${hook.origin}/hook` });
    const sse = await stream(`/v1/subscriptions/${sub.id}/stream`);
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toMatch(/^text\/event-stream/);
    // The first event is the current status, like a SIP subscription's first NOTIFY.
    await sse.until((s) => s.events.length >= 1);
    expect(sse.events[0]).toMatchObject({ id: '1', event: 'presence', data: { seq: 1, type: 'presence', uri: p, status: 'offline' } });
    const first = await http.get(`/v1/subscriptions/${sub.id}/events?ack=0`);
    expect(first.json.events.map((e: { seq: number }) => e.seq)).toEqual([1]);
    expect(first.json._links.next.href).toBe(`/v1/subscriptions/${sub.id}/events?ack=1`);
    // A pending-GET: held until the PUBLISH's event comes.
    const held = http.get(first.json._links.next.href);
    await new Promise((r) => setTimeout(r, 200));
    await publish(p, 'open');
    const got = await held;
    expect(got.status).toBe(200);
    expect(got.json.events).toEqual([expect.objectContaining({ seq: 2, type: 'presence', uri: p, status: 'online' })]);
    await publish(p, 'closed');
    await sse.until((s) => s.events.length >= 3);
    await hook.until((r) => r.accepted().flat().length >= 3);
    // Nothing more arrives: each change was one event.
    await new Promise((r) => setTimeout(r, 400));
    expect(presence(sse)).toEqual([[p, 'offline'], [p, 'online'], [p, 'offline']]);
    expect(sse.events.map((e) => e.id)).toEqual(['1', '2', '3']);
    expect(hook.accepted().flat()).toEqual([[p, 'offline'], [p, 'online'], [p, 'offline']]);
    const after = await http.get(`/v1/subscriptions/${sub.id}/events?ack=2&timeoutSec=0`);
    expect(after.json.events.map((e: { seq: number; status: string }) => [e.seq, e.status])).toEqual([[3, 'offline']]);
  });

  it('a PUBLISH that leaves the status as it was is no event', async () => {
    const p = 'sip:same@example.com';
    const sub = await subscribe({ uris: [p] });
    await publish(p, 'open');
    await publish(p, 'open');
    await new Promise((r) => setTimeout(r, 300));
    const all = await http.get(`/v1/subscriptions/${sub.id}/events?timeoutSec=0`);
    expect(all.json.events.map((e: { status: string }) => e.status)).toEqual(['offline', 'online']);
  });

  it('a reconnect with Last-Event-ID or ack resumes without loss or duplicates', async () => {
    const p = 'sip:resume@example.com';
    const sub = await subscribe({ uris: [p] });
    const a = await stream(`/v1/subscriptions/${sub.id}/stream`);
    await publish(p, 'open');
    await a.until((s) => s.events.length >= 2);
    a.close();
    const lastId = a.events[a.events.length - 1]?.id as string;
    // Changes while the client is away.
    await publish(p, 'closed');
    await publish(p, 'open');
    await new Promise((r) => setTimeout(r, 200));
    const b = await stream(`/v1/subscriptions/${sub.id}/stream`, { lastEventId: lastId });
    await b.until((s) => s.events.length >= 2);
    await publish(p, 'closed');
    await b.until((s) => s.events.length >= 3);
    const seqs = [...a.events, ...b.events].map((e) => Number(e.id));
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    expect([...presence(a), ...presence(b)].map(([, st]) => st)).toEqual(['offline', 'online', 'offline', 'online', 'offline']);
    // The event channel from the same cursor sees the same events.
    const lp = await http.get(`/v1/subscriptions/${sub.id}/events?ack=${lastId}&timeoutSec=0`);
    expect(lp.json.events.map((e: { seq: number }) => e.seq)).toEqual([3, 4, 5]);
  });

  it('an ndjson stream carries seed 002 [uri, status] lines, and heartbeats while idle', async () => {
    const p = 'sip:ndjson@example.com';
    const sub = await subscribe({ uris: [p] });
    const s = await stream(`/v1/subscriptions/${sub.id}/stream`, { ndjson: true });
    expect(s.headers['content-type']).toMatch(/^application\/x-ndjson/);
    await publish(p, 'open');
    await s.until((r) => r.lines.length >= 2);
    expect(s.lines).toEqual([[p, 'offline'], [p, 'online']]);
    await s.until((r) => r.heartbeats >= 1, 3000);
  });

  it('a webhook receiver that fails twice then succeeds gets the batch once, with a valid signature', async () => {
    const p = 'sip:retry@example.com';
    const before = hook.received.length;
    hook.statuses = [500, 503];
    const sub = await subscribe({ uris: [p], webhookUrl: `${hook.origin}/retry` });
    await hook.until((r) => r.received.length - before >= 3);
    await new Promise((r) => setTimeout(r, 300));
    const mine = hook.received.slice(before).filter((x) => x.headers['x-herald-subscription'] === sub.id);
    expect(mine.map((x) => x.answered)).toEqual([500, 503, 200]);
    // The same batch each time, and the same delivery id, so a receiver can tell a retry.
    expect(new Set(mine.map((x) => x.body)).size).toBe(1);
    expect(new Set(mine.map((x) => x.headers['x-herald-delivery'])).size).toBe(1);
    const ok = mine[2] as { body: string; headers: Record<string, unknown> };
    expect(JSON.parse(ok.body)).toEqual([[p, 'offline']]);
    const expected = `sha256=${createHmac('sha256', sub.secret).update(ok.body).digest('hex')}`;
    expect(ok.headers['x-herald-signature']).toBe(expected);
  });

  it('the envelope format carries the events with their seq and type', async () => {
    const p = 'sip:envelope@example.com';
    const before = hook.received.length;
    const sub = await subscribe({ uris: [p], webhookUrl: `${hook.origin}/env`, webhookFormat: 'envelope' });
    await hook.until((r) => r.received.slice(before).some((x) => x.headers['x-herald-subscription'] === sub.id));
    const got = hook.received.slice(before).find((x) => x.headers['x-herald-subscription'] === sub.id) as { body: string };
    expect(JSON.parse(got.body)).toMatchObject({ subscriptionId: sub.id, events: [{ seq: 1, type: 'presence', uri: p, status: 'offline' }] });
  });

  it('an HTTP write reaches the HTTP watchers too', async () => {
    const sub = await subscribe({ uris: ['sip:writer@example.com'] });
    expect((await http.put('/v1/presence/example.com/writer', { status: 'busy' })).status).toBe(201);
    const got = await http.get(`/v1/subscriptions/${sub.id}/events?ack=1&timeoutSec=5`);
    expect(got.json.events).toEqual([expect.objectContaining({ seq: 2, uri: 'sip:writer@example.com', status: 'busy' })]);
  });
});
