/**
 * What a failed NOTIFY does to its subscription (RFC 6665 §4.2.2, RFC 3261 §17.1.2.2 Timer F), and
 * re-subscribing devices replacing their older subscription, over real loopback UDP and TCP.
 */
import { startHerald, type RunningHerald } from '../support/herald';
import { SipTestClient } from '../support/sip-client';
import { WAIT, bodyOf, eventually, nthNotify, notifiesOf, publish, resubscribe, rnd, sleep, subState, subscribe, type WatcherDialog } from '../support/subscriber';

describe.each(['udp', 'tcp'] as const)('RFC 6665 §4.2.2 NOTIFY failures over %s', (transport) => {
  let h: RunningHerald;
  let publisher: SipTestClient;
  const clients: SipTestClient[] = [];
  beforeAll(async () => {
    // sip_t1 50 ms: Timer F (64*T1) fires after 3.2 s instead of 32 s.
    h = await startHerald({ notify_max_failures: 3, sip_t1: 50, sip_t2: 400 });
    publisher = await SipTestClient.open('udp', h.udp);
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await publisher.close();
    await h.stop();
  });

  const open = async (): Promise<SipTestClient> => {
    const c = await SipTestClient.open(transport, h[transport]);
    clients.push(c);
    return c;
  };
  const presentity = (): string => `sip:alice-${rnd()}@127.0.0.1`;
  const stored = (d: WatcherDialog) => h.app.store.subscriptions.byDialog(d.callId, d.toTag, d.fromTag);

  it('RFC 6665 §4.2.2: a NOTIFY answered 481 removes the subscription at once, and it is not NOTIFYed again', async () => {
    const c = await open();
    c.answerStatus = { NOTIFY: 481 };
    const p = presentity();
    const { res, dialog } = await subscribe(c, p);
    expect(res.status).toBe(200);
    await nthNotify(c, dialog!, 0);
    await eventually(async () => (await stored(dialog!)) === undefined);
    await publish(publisher, p, 'open');
    await publish(publisher, p, 'closed');
    await sleep(500);
    expect(notifiesOf(c, dialog!)).toHaveLength(1);
    expect((await resubscribe(c, dialog!, 600)).status).toBe(481);
  });

  it('RFC 3261 §17.1.2.2: a watcher that never answers (Timer F, 64*T1) loses its subscription', async () => {
    const c = await open();
    c.autoAnswer = false;
    const p = presentity();
    const { dialog } = await subscribe(c, p);
    const first = await nthNotify(c, dialog!, 0);
    expect(subState(first)).toMatch(/^active;/);
    expect(await stored(dialog!)).toBeDefined();
    await eventually(async () => (await stored(dialog!)) === undefined, 20_000, 200);
    if (transport === 'udp') {
      // RFC 3261 §17.1.2.2: over UDP the NOTIFY was retransmitted (Timer E) before giving up.
      expect(c.requests('NOTIFY').filter((n) => n.headers.get('call-id') === dialog!.callId).length).toBeGreaterThan(1);
    }
    c.autoAnswer = true;
    await publish(publisher, p, 'open');
    await sleep(500);
    expect(notifiesOf(c, dialog!)).toHaveLength(1);
  }, 40_000);

  it('RFC 6665 §4.2.2: 500 answered notify_max_failures (3) times in a row removes the subscription; fewer keep it', async () => {
    const c = await open();
    c.answerStatus = { NOTIFY: 500 };
    const p = presentity();
    const { dialog } = await subscribe(c, p);
    await nthNotify(c, dialog!, 0); // failure 1
    await publish(publisher, p, 'open');
    await nthNotify(c, dialog!, 1); // failure 2
    await sleep(300);
    expect((await stored(dialog!))?.state).toBe('active');
    await publish(publisher, p, 'closed');
    await nthNotify(c, dialog!, 2); // failure 3 → removed
    await eventually(async () => (await stored(dialog!)) === undefined);
    c.answerStatus = {};
    await publish(publisher, p, 'open');
    await sleep(500);
    expect(notifiesOf(c, dialog!)).toHaveLength(3);
  });

  it('RFC 6665 §4.2.2: a 200 between 5xx answers resets the count (only failures in a row count)', async () => {
    const c = await open();
    c.answerStatus = { NOTIFY: 500 };
    const p = presentity();
    const { dialog } = await subscribe(c, p);
    await nthNotify(c, dialog!, 0); // 500 #1
    await publish(publisher, p, 'open');
    await nthNotify(c, dialog!, 1); // 500 #2
    c.answerStatus = {};
    await publish(publisher, p, 'closed');
    await nthNotify(c, dialog!, 2); // 200: reset
    c.answerStatus = { NOTIFY: 503 };
    await publish(publisher, p, 'open');
    await nthNotify(c, dialog!, 3); // 5xx #1
    await publish(publisher, p, 'closed');
    await nthNotify(c, dialog!, 4); // 5xx #2
    await sleep(300);
    expect((await stored(dialog!))?.state).toBe('active');
    c.answerStatus = {};
    await publish(publisher, p, 'open', { note: 'still-here' });
    expect(bodyOf(await nthNotify(c, dialog!, 5))).toContain('still-here');
  });

  it('RFC 6665 §4.2.2: any other error response without Retry-After (e.g. 404, 603) removes the subscription at once', async () => {
    for (const status of [404, 603]) {
      const c = await open();
      c.answerStatus = { NOTIFY: status };
      const { dialog } = await subscribe(c, presentity());
      await nthNotify(c, dialog!, 0);
      await eventually(async () => (await stored(dialog!)) === undefined);
    }
  });

  it('RFC 3265 §3.2.2: an error response with Retry-After is not final: it counts like a 5xx and the subscription stays', async () => {
    const c = await open();
    c.autoAnswer = false;
    const { dialog } = await subscribe(c, presentity());
    const n = await nthNotify(c, dialog!, 0);
    c.answer(n, 480, [['Retry-After', '30']]);
    await sleep(500);
    expect((await stored(dialog!))?.state).toBe('active');
  });
});

describe.each(['udp', 'tcp'] as const)('re-subscribing devices over %s (RFC 5626 §4.1 instance-id; OpenSIPS #3514, Kamailio #3074)', (transport) => {
  let h: RunningHerald;
  let c: SipTestClient;
  let publisher: SipTestClient;
  beforeAll(async () => {
    h = await startHerald();
    c = await SipTestClient.open(transport, h[transport]);
    publisher = await SipTestClient.open('udp', h.udp);
  });
  afterAll(async () => {
    await c.close();
    await publisher.close();
    await h.stop();
  });

  const presentity = (): string => `sip:alice-${rnd()}@127.0.0.1`;
  const rows = async (p: string) => h.app.store.subscriptions.forPresentity(p, 'presence', Date.now());
  const t = (): string => (transport === 'tcp' ? ';transport=tcp' : '');

  it('a new SUBSCRIBE from the same watcher and Contact replaces the older subscription: one row, only the new dialog is NOTIFYed', async () => {
    const p = presentity();
    const contact = `<sip:bob@127.0.0.1:${c.local.port}${t()}>`;
    const old = await subscribe(c, p, { contact });
    await nthNotify(c, old.dialog!, 0);
    const fresh = await subscribe(c, p, { contact });
    await nthNotify(c, fresh.dialog!, 0);
    const live = await rows(p);
    expect(live).toHaveLength(1);
    expect(live[0]?.callId).toBe(fresh.dialog!.callId);
    await publish(publisher, p, 'open', { note: 'after-replace' });
    expect(bodyOf(await nthNotify(c, fresh.dialog!, 1))).toContain('after-replace');
    await sleep(300);
    expect(notifiesOf(c, old.dialog!)).toHaveLength(1);
    // The old dialog is gone for good.
    expect((await resubscribe(c, old.dialog!, 600)).status).toBe(481);
  });

  it('a new SUBSCRIBE with the same +sip.instance and a new Contact replaces the older subscription', async () => {
    const p = presentity();
    const inst = `;+sip.instance="<urn:uuid:${rnd(8)}>"`;
    const old = await subscribe(c, p, { contact: `<sip:bob@127.0.0.1:${c.local.port}${t()};line=a>${inst}` });
    await nthNotify(c, old.dialog!, 0);
    const fresh = await subscribe(c, p, { contact: `<sip:bob@127.0.0.1:${c.local.port}${t()};line=b>${inst}` });
    await nthNotify(c, fresh.dialog!, 0);
    const live = await rows(p);
    expect(live.map((s) => s.callId)).toEqual([fresh.dialog!.callId]);
    await publish(publisher, p, 'open', { note: 'instance' });
    expect(bodyOf(await nthNotify(c, fresh.dialog!, 1))).toContain('instance');
    await sleep(300);
    expect(notifiesOf(c, old.dialog!)).toHaveLength(1);
  });

  it('two devices of one watcher (different Contacts, no instance) keep a subscription each', async () => {
    const p = presentity();
    const a = await subscribe(c, p, { contact: `<sip:bob@127.0.0.1:${c.local.port}${t()};dev=1>` });
    const b = await subscribe(c, p, { contact: `<sip:bob@127.0.0.1:${c.local.port}${t()};dev=2>` });
    await nthNotify(c, a.dialog!, 0);
    await nthNotify(c, b.dialog!, 0);
    expect(await rows(p)).toHaveLength(2);
    await publish(publisher, p, 'open', { note: 'both-devices' });
    expect(bodyOf(await nthNotify(c, a.dialog!, 1))).toContain('both-devices');
    expect(bodyOf(await nthNotify(c, b.dialog!, 1))).toContain('both-devices');
  });

  it('the same Contact used by two different watchers does not replace across watchers', async () => {
    const p = presentity();
    const contact = `<sip:shared@127.0.0.1:${c.local.port}${t()}>`;
    const a = await subscribe(c, p, { watcher: 'sip:bob@127.0.0.1', contact });
    const b = await subscribe(c, p, { watcher: 'sip:carol@127.0.0.1', contact });
    await nthNotify(c, a.dialog!, 0);
    await nthNotify(c, b.dialog!, 0);
    expect((await rows(p)).map((s) => s.watcher).sort()).toEqual(['sip:bob@127.0.0.1', 'sip:carol@127.0.0.1']);
  });

  it('replacing waits for nothing: the 200 to the new SUBSCRIBE arrives with the old row already gone', async () => {
    const p = presentity();
    const contact = `<sip:bob@127.0.0.1:${c.local.port}${t()}>`;
    const dialogs: WatcherDialog[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await subscribe(c, p, { contact });
      dialogs.push(r.dialog!);
      expect(await rows(p)).toHaveLength(1);
    }
    await nthNotify(c, dialogs[3]!, 0, WAIT);
  });
});
