/**
 * RFC 6665 / RFC 3856 new SUBSCRIBE and the NOTIFYs of its dialog, raw SIP over real loopback UDP and
 * TCP against a running Herald (PostgreSQL with HERALD_TEST_DB_URL, else PGlite).
 */
import { startHerald, type RunningHerald } from '../support/herald';
import { SipTestClient, tagOf } from '../support/sip-client';
import { WAIT, bodyOf, cseqOf, nextNotify, nthNotify, notifiesOf, publish, rawHeaders, resubscribe, rnd, sleep, subState, subscribe, eventually } from '../support/subscriber';

const transports = ['udp', 'tcp'] as const;

describe.each(transports)('RFC 6665 new SUBSCRIBE over %s', (transport) => {
  let h: RunningHerald;
  let watcher: SipTestClient;
  let publisher: SipTestClient;
  beforeAll(async () => {
    h = await startHerald({ to_tag_pref: 'hx7' });
    watcher = await SipTestClient.open(transport, h[transport]);
    publisher = await SipTestClient.open('udp', h.udp);
  });
  afterAll(async () => {
    await watcher.close();
    await publisher.close();
    await h.stop();
  });

  const presentity = (): string => `sip:alice-${rnd()}@127.0.0.1`;

  it('RFC 6665 §4.2.1.1: answers 200 with a To-tag starting with to_tag_pref, Expires and Contact', async () => {
    const { res } = await subscribe(watcher, presentity(), { expires: 600 });
    expect(res.status).toBe(200);
    expect(tagOf(res.headers.get('to'))).toMatch(/^hx7.+/);
    // RFC 6665 §4.2.1.1: "200-class responses to SUBSCRIBE requests ... MUST contain an Expires header field".
    expect(res.headers.get('expires')).toBe('600');
    // RFC 6665 §4.2.1.1 / RFC 3261 §12.1.1: the 2xx carries a Contact (the dialog's remote target for the watcher).
    expect(res.headers.get('contact')).toMatch(/^<sips?:[^>]+>/);
  });

  it('RFC 6665 §4.2.1.1: an Expires above max_expires is lowered to it in the 200', async () => {
    const { res } = await subscribe(watcher, presentity(), { expires: 99999 });
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('expires'))).toBe(h.app.config.maxExpiresSec);
  });

  it('RFC 3856 §6.4: a SUBSCRIBE without Expires is granted default_expires', async () => {
    const { res, dialog } = await subscribe(watcher, presentity(), { expires: null });
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('expires'))).toBe(h.app.config.defaultExpiresSec);
    const first = await nthNotify(watcher, dialog!, 0);
    expect(subState(first)).toMatch(new RegExp(`^active;expires=(${h.app.config.defaultExpiresSec}|${h.app.config.defaultExpiresSec - 1})$`));
  });

  it('RFC 6665 §4.2.1: sends the first NOTIFY right after the 200: active;expires=N, no body and Content-Length: 0 when nothing is published', async () => {
    const { dialog } = await subscribe(watcher, presentity(), { expires: 300 });
    const first = await nthNotify(watcher, dialog!, 0);
    expect(subState(first)).toMatch(/^active;expires=(300|299)$/);
    expect(first.body.length).toBe(0);
    const raw = rawHeaders(watcher, first);
    expect(raw).toMatch(/\r\nContent-Length:\s*0(\r\n|$)/i);
    // RFC 3261 §20.15: no body, no Content-Type.
    expect(raw).not.toMatch(/\r\n(Content-Type|c):/i);
  });

  it('RFC 3856 §6.7: the first NOTIFY carries the composed PIDF when the presentity has published', async () => {
    const p = presentity();
    expect((await publish(publisher, p, 'open', { note: 'at-desk' })).status).toBe(200);
    const { dialog } = await subscribe(watcher, p);
    const first = await nthNotify(watcher, dialog!, 0);
    expect(subState(first)).toMatch(/^active;expires=\d+$/);
    expect(first.headers.get('content-type')).toBe('application/pidf+xml');
    expect(bodyOf(first)).toContain('<basic>open</basic>');
    expect(bodyOf(first)).toContain('at-desk');
    expect(bodyOf(first)).toContain(`entity="${p}"`);
    expect(Number(first.headers.get('content-length'))).toBe(first.body.length);
  });

  it('RFC 6665 §4.2.2 / RFC 3261 §12.2.1.1: NOTIFY Request-URI = the Contact, Route = the Record-Route set in order, tags swapped, same Call-ID, Event, Contact', async () => {
    const p = presentity();
    const t = transport === 'tcp' ? ';transport=tcp' : '';
    // Both "proxies" are the watcher itself, so the NOTIFY routed to the first one reaches the test.
    const rr1 = `<sip:127.0.0.1:${watcher.local.port}${t};lr;x=first>`;
    const rr2 = `<sip:proxy2.invalid;lr;x=second>`;
    const contactUri = `sip:bob-dev1@127.0.0.1:${watcher.local.port}${t};ob`;
    const { res, dialog } = await subscribe(watcher, p, {
      watcher: 'sip:bob@127.0.0.1', contact: `"Bob" <${contactUri}>;+sip.instance="<urn:uuid:0000-1>"`,
      extra: [['Record-Route', rr1], ['Record-Route', rr2]],
    });
    expect(res.status).toBe(200);
    const n = await nthNotify(watcher, dialog!, 0);
    expect(n.uri).toBe(contactUri);
    expect(n.headers.getAll('route')).toEqual([rr1, rr2]);
    // RFC 3261 §12.2.1.1: To = the remote URI with the remote (watcher's) tag; From = local URI + local tag.
    expect(tagOf(n.headers.get('to'))).toBe(dialog!.fromTag);
    expect(n.headers.get('to')).toContain('sip:bob@127.0.0.1');
    expect(tagOf(n.headers.get('from'))).toBe(dialog!.toTag);
    expect(n.headers.get('from')).toContain(p);
    expect(n.headers.get('call-id')).toBe(dialog!.callId);
    // RFC 6665 §8.2.1: Event names the package of the subscription.
    expect(n.headers.get('event')).toBe('presence');
    // RFC 6665 §4.2.2 / RFC 3261 §12.1.1: NOTIFY carries a Contact (Herald's, as in the 200).
    expect(n.headers.get('contact')).toBe(res.headers.get('contact'));
    expect(n.headers.get('max-forwards')).toBe('70');
  });

  it('RFC 6665 §8.2.1: echoes the Event id parameter of the SUBSCRIBE in every NOTIFY', async () => {
    const p = presentity();
    const { dialog } = await subscribe(watcher, p, { event: 'presence;id=777' });
    const first = await nthNotify(watcher, dialog!, 0);
    expect(first.headers.get('event')?.replace(/\s+/g, '')).toBe('presence;id=777');
    await publish(publisher, p, 'open');
    const second = await nthNotify(watcher, dialog!, 1);
    expect(second.headers.get('event')?.replace(/\s+/g, '')).toBe('presence;id=777');
  });

  it('RFC 3261 §20.15: Content-Type appears only on a NOTIFY with a body; Content-Length always matches', async () => {
    const p = presentity();
    const { dialog } = await subscribe(watcher, p);
    const empty = await nthNotify(watcher, dialog!, 0);
    expect(empty.headers.has('content-type')).toBe(false);
    await publish(publisher, p, 'closed');
    const full = await nthNotify(watcher, dialog!, 1);
    expect(full.headers.get('content-type')).toBe('application/pidf+xml');
    expect(bodyOf(full)).toContain('<basic>closed</basic>');
    for (const n of [empty, full]) expect(Number(n.headers.get('content-length'))).toBe(n.body.length);
  });

  it('RFC 3261 §12.2.1.1: NOTIFY CSeq increases strictly within a dialog', async () => {
    const p = presentity();
    const { dialog } = await subscribe(watcher, p);
    await nthNotify(watcher, dialog!, 0);
    for (const basic of ['open', 'closed', 'open'] as const) await publish(publisher, p, basic);
    await nthNotify(watcher, dialog!, 3);
    const seqs = notifiesOf(watcher, dialog!).map(cseqOf);
    expect(seqs.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
    // Every publish produced a NOTIFY with the state published, in order.
    const bodies = notifiesOf(watcher, dialog!).slice(1).map((n) => /<basic>(\w+)<\/basic>/.exec(bodyOf(n))?.[1]);
    expect(bodies[bodies.length - 1]).toBe('open');
  });

  it('RFC 3261 §12.2.1.1: the final NOTIFY after an un-SUBSCRIBE has a higher CSeq than every NOTIFY before it', async () => {
    const p = presentity();
    const { dialog } = await subscribe(watcher, p);
    await nthNotify(watcher, dialog!, 0);
    await publish(publisher, p, 'open');
    await nthNotify(watcher, dialog!, 1);
    expect((await resubscribe(watcher, dialog!, 0)).status).toBe(200);
    const last = await nextNotify(watcher, dialog!, (n) => subState(n).startsWith('terminated'), true);
    const earlier = notifiesOf(watcher, dialog!).filter((n) => n !== last).map(cseqOf);
    expect(earlier.length).toBeGreaterThanOrEqual(2);
    expect(cseqOf(last)).toBeGreaterThan(Math.max(...earlier));
  });

  it('RFC 6665 §4.2.2 / RFC 3261 §12.2.1.1: after quick successive changes the NOTIFY with the highest CSeq carries the latest state', async () => {
    const p = presentity();
    const { dialog } = await subscribe(watcher, p);
    await nthNotify(watcher, dialog!, 0);
    // A chain of modifies, each sent as soon as the previous 200 arrives (its NOTIFYs still under way).
    let etag = (await publish(publisher, p, 'open', { note: 'v0' })).headers.get('sip-etag') ?? '';
    const rounds = 12;
    for (let i = 1; i <= rounds; i++) {
      const res = await publish(publisher, p, i % 2 ? 'closed' : 'open', { note: `v${i}`, ifMatch: etag });
      expect(res.status).toBe(200);
      etag = res.headers.get('sip-etag') ?? '';
    }
    await eventually(() => notifiesOf(watcher, dialog!).some((n) => bodyOf(n).includes(`v${rounds}<`)));
    await sleep(300);
    const all = notifiesOf(watcher, dialog!);
    const highest = all.reduce((a, b) => (cseqOf(b) > cseqOf(a) ? b : a));
    expect(/<note[^>]*>(v\d+)</.exec(bodyOf(highest))?.[1]).toBe(`v${rounds}`);
    // And in CSeq order the notes never go back in time.
    const notes = [...all].sort((a, b) => cseqOf(a) - cseqOf(b)).map((n) => Number(/<note[^>]*>v(\d+)</.exec(bodyOf(n))?.[1] ?? -1));
    for (let i = 1; i < notes.length; i++) expect(notes[i]).toBeGreaterThanOrEqual(notes[i - 1] as number);
  });

  it('RFC 6665 §4.2.2: each watcher of a presentity gets the NOTIFYs of its own dialog', async () => {
    const p = presentity();
    const other = await SipTestClient.open(transport, h[transport]);
    try {
      const a = await subscribe(watcher, p, { watcher: 'sip:carol@127.0.0.1' });
      const b = await subscribe(other, p, { watcher: 'sip:dave@127.0.0.1' });
      await nthNotify(watcher, a.dialog!, 0);
      await nthNotify(other, b.dialog!, 0);
      await publish(publisher, p, 'open', { note: 'both' });
      expect(bodyOf(await nthNotify(watcher, a.dialog!, 1))).toContain('both');
      expect(bodyOf(await nthNotify(other, b.dialog!, 1))).toContain('both');
      expect(notifiesOf(watcher, b.dialog!)).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  if (transport === 'tcp') {
    it('RFC 3261 §18.2.2 / RFC 5923: NOTIFY comes back on the SUBSCRIBE\'s TCP connection even when the Contact names a port nothing listens on (linphone)', async () => {
      const p = presentity();
      // Port 9 (discard): nothing of the test listens there; the NOTIFY must still reach the watcher.
      const { res, dialog } = await subscribe(watcher, p, { contact: '<sip:bob@127.0.0.1:9;transport=tcp>' });
      expect(res.status).toBe(200);
      const first = await nthNotify(watcher, dialog!, 0);
      expect(first.uri).toBe('sip:bob@127.0.0.1:9;transport=tcp');
      await publish(publisher, p, 'open');
      const second = await nthNotify(watcher, dialog!, 1);
      expect(bodyOf(second)).toContain('<basic>open</basic>');
      const sub = await h.app.store.subscriptions.byDialog(dialog!.callId, dialog!.toTag, dialog!.fromTag);
      expect(sub?.state).toBe('active');
    });
  }

  it('commits the subscription before answering: the dialog is in the store when the 200 arrives', async () => {
    const p = presentity();
    const { dialog } = await subscribe(watcher, p, { watcher: 'sip:erin@127.0.0.1' });
    const sub = await h.app.store.subscriptions.byDialog(dialog!.callId, dialog!.toTag, dialog!.fromTag);
    expect(sub).toMatchObject({ presentity: p, watcher: 'sip:erin@127.0.0.1', event: 'presence', state: 'active', remoteTag: dialog!.fromTag });
    await eventually(() => notifiesOf(watcher, dialog!).length >= 1, WAIT);
  });
});

describe.each(transports)('subscribe_reply_code: 202 over %s (seed 001)', (transport) => {
  let h: RunningHerald;
  let c: SipTestClient;
  beforeAll(async () => {
    h = await startHerald({ subscribe_reply_code: 202 });
    c = await SipTestClient.open(transport, h[transport]);
  });
  afterAll(async () => {
    await c.close();
    await h.stop();
  });

  it('seed 001 subscribe_reply_code=202: answers 202 to presence and 200 to presence.winfo, and still NOTIFYs at once', async () => {
    const p = `sip:zoe-${rnd()}@127.0.0.1`;
    const pres = await subscribe(c, p, { watcher: 'sip:bob@127.0.0.1' });
    expect(pres.res.status).toBe(202);
    expect(pres.res.headers.get('expires')).toBe('600');
    expect(subState(await nthNotify(c, pres.dialog!, 0))).toMatch(/^active;expires=\d+$/);
    const winfo = await subscribe(c, p, { watcher: p, event: 'presence.winfo' });
    expect(winfo.res.status).toBe(200);
    expect((await nthNotify(c, winfo.dialog!, 0)).headers.get('content-type')).toBe('application/watcherinfo+xml');
  });
});
