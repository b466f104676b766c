/**
 * The pure parts of HTTP watchers (issue 9): the webhook allow-list, the in-process wake-ups, what a
 * watcher may see under pres_rules (RFC 5025 §3.2.1), and the webhook body/signature (seed 002).
 */
import { createHmac } from 'node:crypto';
import { EventBus } from '../../src/presence/event-bus';
import { HttpWatchers } from '../../src/presence/http-watchers';
import type { PresRule, WebEvent, WebSubscription } from '../../src/presence/model';
import { checkWebhookUrl } from '../../src/presence/web-subscriptions';
import { signature, webhookBody } from '../../src/http/webhooks';

const sub = (o: Partial<WebSubscription> = {}): WebSubscription => ({
  id: 's1', owner: 'token:x', watcher: 'sip:bob@example.com', appId: null, secret: 'k', webhookUrl: null, webhookFormat: 'batch', state: 'active',
  expiresAt: 1, warned: false, lastSeq: 0, webhookSeq: 0, webhookAttempts: 0, webhookNextAt: 0, createdAt: 0, updatedAt: 0, ...o,
});
const ev = (seq: number, o: Partial<WebEvent> = {}): WebEvent => ({ subscriptionId: 's1', seq, type: 'presence', uri: 'sip:a@example.com', status: 'online', at: 0, ...o });

describe('webhook allow-list (no requests to arbitrary hosts)', () => {
  const allow = ['https://hooks.example.com', 'http://127.0.0.1:8081'];
  it('accepts a URL whose origin is listed (an entry without port allows any port)', () => {
    expect(checkWebhookUrl('https://hooks.example.com/a?b=1', allow)).toBe('https://hooks.example.com/a?b=1');
    expect(checkWebhookUrl('https://HOOKS.example.com:8443/x', allow)).toBe('https://hooks.example.com:8443/x');
    expect(checkWebhookUrl('http://127.0.0.1:8081/hook', allow)).toBe('http://127.0.0.1:8081/hook');
  });
  it.each([
    ['http://127.0.0.1:8082/hook', /not on webhook_allow_list/],
    ['http://hooks.example.com/x', /not on webhook_allow_list/],
    ['https://hooks.example.com.evil.test/x', /not on webhook_allow_list/],
    ['https://user:pw@hooks.example.com/x', /credentials/],
    ['ftp://hooks.example.com/x', /http or https/],
    ['not a url', /not a URL/],
  ])('refuses %s naming body.webhookUrl', (url, why) => {
    expect(() => checkWebhookUrl(url, allow)).toThrow(why);
    expect(() => checkWebhookUrl(url, allow)).toThrow(/body\.webhookUrl/);
  });
  it('refuses everything with an empty list', () => {
    expect(() => checkWebhookUrl('https://hooks.example.com/', [])).toThrow(/webhook_allow_list/);
  });
});

describe('event bus', () => {
  it('wakes the listeners of a subscription once per newer seq, and the all-listeners on local events only', () => {
    const bus = new EventBus();
    const woke: number[] = [];
    const all: string[] = [];
    const off = bus.listen('s1', (seq) => woke.push(seq));
    bus.listenAll((id) => all.push(id));
    bus.published([ev(1), ev(2)]);
    bus.observe(new Map([['s1', 2]]));
    bus.observe(new Map([['s1', 3]]));
    expect(woke).toEqual([2, 3]);
    expect(all).toEqual(['s1']);
    expect(bus.listened()).toEqual(['s1']);
    off();
    expect(bus.listened()).toEqual([]);
  });
});

describe('what an HTTP watcher sees (RFC 5025 §3.2.1, as for SIP watchers)', () => {
  const w = (forceActive: boolean): HttpWatchers => new HttpWatchers({ forceActive } as never);
  const rule = (action: PresRule['action'], watcher = 'sip:bob@example.com'): PresRule => ({ presentity: 'sip:a@example.com', watcher, action, updatedAt: 0 });
  it('force_active: everyone sees the status', () => {
    expect(w(true).seen(sub(), [], 'busy')).toBe('busy');
  });
  it('no rule or confirm: pending, nothing; block: nothing; polite-block: offline; allow (also by domain): the status', () => {
    expect(w(false).seen(sub(), [], 'busy')).toBeNull();
    expect(w(false).seen(sub(), [rule('confirm')], 'busy')).toBeNull();
    expect(w(false).seen(sub(), [rule('block')], 'busy')).toBeNull();
    expect(w(false).seen(sub(), [rule('polite-block')], 'busy')).toBe('offline');
    expect(w(false).seen(sub(), [rule('allow', 'example.com')], 'busy')).toBe('busy');
  });
  it("an app's subscription is authorized by the user's grant", () => {
    expect(w(false).seen(sub({ appId: 'a1' }), [rule('block', 'app:a1')], 'away')).toBe('away');
  });
});

describe('webhook body and signature (seed 002)', () => {
  it('batch: [[uri, status], …] of the presence events; nothing to send for expiring/ended only', () => {
    expect(webhookBody(sub(), [ev(1), ev(2, { uri: 'sip:b@example.com', status: 'away' })])).toBe('[["sip:a@example.com","online"],["sip:b@example.com","away"]]');
    expect(webhookBody(sub(), [ev(3, { type: 'ended', uri: null, status: null })])).toBeNull();
  });
  it('envelope: {subscriptionId, events} with every event', () => {
    const body = JSON.parse(webhookBody(sub({ webhookFormat: 'envelope' }), [ev(1), ev(2, { type: 'expiring', uri: null, status: null })]) as string);
    expect(body).toMatchObject({ subscriptionId: 's1', events: [{ seq: 1, type: 'presence' }, { seq: 2, type: 'expiring' }] });
  });
  it('signs the body with HMAC-SHA256 of the secret', () => {
    expect(signature('k', 'body')).toBe(`sha256=${createHmac('sha256', 'k').update('body').digest('hex')}`);
  });
});

describe('the watched set keeps unwatched presentities off the PUBLISH path', () => {
  function setup(): { w: HttpWatchers; queried: string[]; remote: string[] } {
    const queried: string[] = [];
    const remote: string[] = [];
    const repo = {
      watchersOf: async (p: string) => { queried.push(p); return []; },
      watchedPresentities: async (since: number | null) => (since === null ? ['sip:a@example.com'] : [...remote]),
    };
    const w = new HttpWatchers({ repo, clock: { now: () => 1000 }, forceActive: true, onError: (err: unknown) => { throw err; } } as never);
    return { w, queried, remote };
  }
  it('before the set is loaded every change is looked up; after, only watched presentities are', async () => {
    const { w, queried } = setup();
    w.presentityChanged('sip:x@example.com');
    await w.drain();
    expect(queried).toEqual(['sip:x@example.com']);
    await w.refresh();
    w.presentityChanged('sip:x@example.com');
    w.presentityChanged('sip:a@example.com');
    w.watch(['sip:local@example.com']);
    w.presentityChanged('sip:local@example.com');
    await w.drain();
    expect(queried).toEqual(['sip:x@example.com', 'sip:a@example.com', 'sip:local@example.com']);
  });
  it("a presentity another node started watching is told again when the refresh finds it", async () => {
    const { w, queried, remote } = setup();
    await w.refresh();
    remote.push('sip:remote@example.com');
    await w.refresh();
    await w.drain();
    expect(queried).toEqual(['sip:remote@example.com']);
    w.presentityChanged('sip:remote@example.com');
    await w.drain();
    expect(queried).toEqual(['sip:remote@example.com', 'sip:remote@example.com']);
  });
});
