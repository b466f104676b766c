/**
 * RFC 6665 in-dialog SUBSCRIBE (refresh, un-SUBSCRIBE, unknown dialog, CSeq order) and the requests
 * a notifier refuses (423, 406, 489, 400), over real loopback UDP and TCP against a running Herald.
 */
import { startHerald, type RunningHerald } from '../support/herald';
import { SipTestClient } from '../support/sip-client';
import { WAIT, bodyOf, cseqOf, eventually, nthNotify, notifiesOf, publish, resubscribe, rnd, sleep, subState, subscribe } from '../support/subscriber';

describe.each(['udp', 'tcp'] as const)('RFC 6665 in-dialog SUBSCRIBE and refusals over %s', (transport) => {
  let h: RunningHerald;
  let c: SipTestClient;
  let publisher: SipTestClient;
  beforeAll(async () => {
    h = await startHerald({ min_expires: 60, max_expires: 7200 });
    c = await SipTestClient.open(transport, h[transport]);
    publisher = await SipTestClient.open('udp', h.udp);
  });
  afterAll(async () => {
    await c.close();
    await publisher.close();
    await h.stop();
  });

  const presentity = (): string => `sip:alice-${rnd()}@127.0.0.1`;
  const stored = (d: { callId: string; toTag: string; fromTag: string }) => h.app.store.subscriptions.byDialog(d.callId, d.toTag, d.fromTag);

  it('RFC 6665 §4.1.2.2 / RFC 3261 §12.2.2: an in-dialog SUBSCRIBE for an unknown dialog is answered 481', async () => {
    const { dialog } = await subscribe(c, presentity());
    await nthNotify(c, dialog!, 0);
    const res = await resubscribe(c, dialog!, 600, { toTag: 'no-such-tag' });
    expect(res.status).toBe(481);
    // An unknown Call-ID with a To-tag is just as unknown.
    const res2 = await resubscribe(c, { ...dialog!, callId: `${rnd()}@nowhere` }, 600);
    expect(res2.status).toBe(481);
  });

  it('RFC 6665 §4.2.1.1: a refresh is answered 200 with the new Expires and followed by a NOTIFY with the current state', async () => {
    const p = presentity();
    await publish(publisher, p, 'open', { note: 'refresh-me' });
    const { dialog } = await subscribe(c, p, { expires: 600 });
    await nthNotify(c, dialog!, 0);
    const before = (await stored(dialog!))!;
    const res = await resubscribe(c, dialog!, 1200);
    expect(res.status).toBe(200);
    expect(res.headers.get('expires')).toBe('1200');
    const n = await nthNotify(c, dialog!, 1);
    expect(subState(n)).toMatch(/^active;expires=(1200|1199)$/);
    expect(bodyOf(n)).toContain('refresh-me');
    expect(cseqOf(n)).toBeGreaterThan(cseqOf(notifiesOf(c, dialog!)[0]!));
    const after = (await stored(dialog!))!;
    expect(after.expiresAt).toBeGreaterThan(before.expiresAt);
    expect(after.remoteCseq).toBe(dialog!.cseq);
  });

  it('RFC 6665 §4.2.1.4: Expires: 0 is answered 200, then NOTIFY terminated;reason=timeout, and the subscription is gone', async () => {
    const p = presentity();
    const { dialog } = await subscribe(c, p);
    await nthNotify(c, dialog!, 0);
    const res = await resubscribe(c, dialog!, 0);
    expect(res.status).toBe(200);
    expect(res.headers.get('expires')).toBe('0');
    const last = await nthNotify(c, dialog!, 1);
    expect(subState(last)).toBe('terminated;reason=timeout');
    expect(last.body.length).toBe(0);
    expect(last.headers.has('content-type')).toBe(false);
    await eventually(async () => (await stored(dialog!)) === undefined);
    // Gone means gone: a later change NOTIFYs nobody on this dialog, and a refresh is 481.
    await publish(publisher, p, 'open');
    await sleep(300);
    expect(notifiesOf(c, dialog!)).toHaveLength(2);
    expect((await resubscribe(c, dialog!, 600)).status).toBe(481);
  });

  it('RFC 6665 §4.4.3: a new SUBSCRIBE with Expires: 0 (a fetch) gets one NOTIFY terminated;reason=timeout with the current state, and nothing stays', async () => {
    const p = presentity();
    await publish(publisher, p, 'open', { note: 'fetched' });
    const { res, dialog } = await subscribe(c, p, { expires: 0 });
    expect(res.status).toBe(200);
    expect(res.headers.get('expires')).toBe('0');
    const n = await nthNotify(c, dialog!, 0);
    expect(subState(n)).toBe('terminated;reason=timeout');
    // RFC 6665 §4.4.3: "the notifier will send a NOTIFY request containing resource state".
    expect(n.headers.get('content-type')).toBe('application/pidf+xml');
    expect(bodyOf(n)).toContain('fetched');
    await eventually(async () => (await stored(dialog!)) === undefined);
  });

  it('RFC 6665 §4.2.2: once the 200 to an un-SUBSCRIBE is sent the subscription is no longer active (no NOTIFY can follow the terminated one)', async () => {
    for (let i = 0; i < 3; i++) {
      const { dialog } = await subscribe(c, presentity());
      await nthNotify(c, dialog!, 0);
      expect((await resubscribe(c, dialog!, 0)).status).toBe(200);
      const row = await stored(dialog!);
      expect(row === undefined || row.state === 'terminated').toBe(true);
      // A second un-SUBSCRIBE (a new transaction) finds the dialog over: 481, never 500.
      expect((await resubscribe(c, dialog!, 0)).status).toBe(481);
    }
  });

  it('RFC 6665 §4.4.3: a fetch from the Contact of a live subscription does not replace that subscription', async () => {
    const p = presentity();
    const contact = `<${c.contact('bob')}>`;
    const { dialog } = await subscribe(c, p, { contact });
    await nthNotify(c, dialog!, 0);
    const fetch = await subscribe(c, p, { contact, expires: 0 });
    expect(fetch.res.status).toBe(200);
    await nthNotify(c, fetch.dialog!, 0);
    expect((await stored(dialog!))?.state).toBe('active');
    await publish(publisher, p, 'open', { note: 'kept' });
    expect(bodyOf(await nthNotify(c, dialog!, 1))).toContain('kept');
  });

  it('RFC 3261 §12.2.2: an in-dialog SUBSCRIBE with a lower (or equal) CSeq than the last one is answered 500 and changes nothing', async () => {
    const { dialog } = await subscribe(c, presentity(), { cseq: 10 });
    await nthNotify(c, dialog!, 0);
    expect((await resubscribe(c, dialog!, 900, { cseq: 20 })).status).toBe(200);
    const mid = (await stored(dialog!))!;
    expect((await resubscribe(c, dialog!, 1800, { cseq: 15 })).status).toBe(500);
    expect((await resubscribe(c, dialog!, 1800, { cseq: 20 })).status).toBe(500);
    const after = (await stored(dialog!))!;
    expect(after.remoteCseq).toBe(20);
    expect(after.expiresAt).toBe(mid.expiresAt);
  });

  it('RFC 6665 §4.2.1.1 / RFC 3261 §21.4.17: Expires below min_expires is answered 423 with Min-Expires, and nothing is stored', async () => {
    const p = presentity();
    const { res } = await subscribe(c, p, { expires: 30 });
    expect(res.status).toBe(423);
    expect(res.headers.get('min-expires')).toBe('60');
    expect(await h.app.store.subscriptions.forPresentity(p, 'presence', Date.now())).toHaveLength(0);
  });

  it('RFC 6665 §4.2.1.1: a refresh below min_expires is 423 too and keeps the subscription', async () => {
    const { dialog } = await subscribe(c, presentity());
    await nthNotify(c, dialog!, 0);
    const res = await resubscribe(c, dialog!, 10);
    expect(res.status).toBe(423);
    expect(res.headers.get('min-expires')).toBe('60');
    expect((await stored(dialog!))?.state).toBe('active');
  });

  it('RFC 6665 §4.2.1 / RFC 3261 §21.4.7: an Accept that excludes every type of the package is answered 406 with Accept', async () => {
    const { res } = await subscribe(c, presentity(), { extra: [['Accept', 'application/cpim-pidf+xml'], ['Accept', 'text/plain']] });
    expect(res.status).toBe(406);
    expect(res.headers.get('accept')).toContain('application/pidf+xml');
    const winfo = await subscribe(c, 'sip:w@127.0.0.1', { watcher: 'sip:w@127.0.0.1', event: 'presence.winfo', extra: [['Accept', 'application/pidf+xml']] });
    expect(winfo.res.status).toBe(406);
  });

  it('RFC 6665 §4.2.1: an Accept naming the package type, a wildcard, or no Accept at all is accepted', async () => {
    for (const accept of ['application/pidf+xml', 'application/*', '*/*', 'text/plain, application/pidf+xml;q=0.5']) {
      const { res } = await subscribe(c, presentity(), { extra: [['Accept', accept]] });
      expect([accept, res.status]).toEqual([accept, 200]);
    }
  });

  it('RFC 6665 §4.2.1 / §8.2.2: an unknown event package is answered 489 Bad Event with Allow-Events', async () => {
    const { res } = await subscribe(c, presentity(), { event: 'dialog' });
    expect(res.status).toBe(489);
    const allow = (res.headers.get('allow-events') ?? '').split(',').map((s) => s.trim());
    expect(allow).toEqual(expect.arrayContaining(['presence', 'presence.winfo']));
  });

  it('RFC 6665 §8.2.1: a SUBSCRIBE without Event is answered 489 (its default package "PINT" is not served)', async () => {
    const p = presentity();
    const res = await c.request('SUBSCRIBE', p, [['To', `<${p}>`], ['Expires', '600'], ['Contact', `<${c.contact('bob')}>`]], '', WAIT);
    expect(res.status).toBe(489);
  });

  it('RFC 3261 §12.1.1 / RFC 6665 §4.1.2.1: a new SUBSCRIBE without Contact is answered 400 and nothing is stored', async () => {
    const p = presentity();
    const { res } = await subscribe(c, p, { contact: null });
    expect(res.status).toBe(400);
    expect(res.reason).toMatch(/contact/i);
    expect(await h.app.store.subscriptions.forPresentity(p, 'presence', Date.now())).toHaveLength(0);
  });

  it('RFC 3261 §8.1.1.3: a SUBSCRIBE without a From tag is answered 400', async () => {
    const p = presentity();
    const res = await c.request('SUBSCRIBE', p, [['From', '<sip:bob@127.0.0.1>'], ['To', `<${p}>`], ['Event', 'presence'], ['Contact', `<${c.contact('bob')}>`]], '', WAIT);
    expect(res.status).toBe(400);
  });
});
