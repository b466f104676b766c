/**
 * presence.winfo (RFC 3857 template package, RFC 3858 application/watcherinfo+xml): who may watch
 * the watchers, full and partial documents, the version counter; raw SIP over loopback UDP and TCP.
 */
import { parseWatcherinfo, type ParsedWatcherinfo, type WinfoWatcher } from '../../src/bodies/winfo';
import type { SipRequest } from '../../src/sip/message';
import { startHerald, type RunningHerald } from '../support/herald';
import { SipTestClient } from '../support/sip-client';
import { bodyOf, eventually, nthNotify, notifiesOf, resubscribe, rnd, sleep, subState, subscribe, type WatcherDialog } from '../support/subscriber';

function winfo(n: SipRequest): ParsedWatcherinfo {
  expect(n.headers.get('content-type')).toBe('application/watcherinfo+xml');
  return parseWatcherinfo(n.body);
}

function watchersIn(doc: ParsedWatcherinfo): WinfoWatcher[] {
  return doc.watcherLists.flatMap((l) => l.watchers);
}

function byUri(doc: ParsedWatcherinfo, uri: string): WinfoWatcher[] {
  return watchersIn(doc).filter((w) => w.uri === uri);
}

describe.each(['udp', 'tcp'] as const)('RFC 3857/3858 presence.winfo over %s', (transport) => {
  let h: RunningHerald;
  let owner: SipTestClient;
  let watchers: SipTestClient;
  beforeAll(async () => {
    h = await startHerald();
    owner = await SipTestClient.open(transport, h[transport]);
    watchers = await SipTestClient.open(transport, h[transport]);
  });
  afterAll(async () => {
    await owner.close();
    await watchers.close();
    await h.stop();
  });

  const presentity = (): string => `sip:alice-${rnd()}@127.0.0.1`;
  const watchWatchers = async (p: string, o: { from?: string } = {}): Promise<WatcherDialog> => {
    const { res, dialog } = await subscribe(owner, p, { watcher: o.from ?? p, event: 'presence.winfo' });
    expect(res.status).toBe(200);
    return dialog!;
  };

  it('RFC 3857 §5.1: only the presentity itself may subscribe to its presence.winfo; anyone else is answered 403 and nothing is stored', async () => {
    const p = presentity();
    const { res } = await subscribe(watchers, p, { watcher: 'sip:mallory@127.0.0.1', event: 'presence.winfo' });
    expect(res.status).toBe(403);
    expect(await h.app.store.subscriptions.forPresentity(p, 'presence.winfo', Date.now())).toHaveLength(0);
    // Same user name on another domain is someone else.
    const other = await subscribe(watchers, p, { watcher: p.replace('127.0.0.1', 'example.com'), event: 'presence.winfo' });
    expect(other.res.status).toBe(403);
  });

  it('RFC 3857 §5.1: the presentity is recognised after canonicalisation (display name, port, URI parameters, host case)', async () => {
    const user = `alice-${rnd()}`;
    const p = `sip:${user}@127.0.0.1`;
    const { res, dialog } = await subscribe(owner, `sip:${user}@127.0.0.1:${h[transport].port}`, {
      watcher: `sip:${user}@127.0.0.1:5080;transport=${transport}`, event: 'presence.winfo',
      extra: [],
    });
    expect(res.status).toBe(200);
    const first = await nthNotify(owner, dialog!, 0);
    expect(winfo(first).watcherLists[0]?.resource).toBe(p);
  });

  it('RFC 3857 §5.2 / RFC 3858 §4.1: the first NOTIFY is full state, application/watcherinfo+xml, version 0 or 1, listing the current watchers', async () => {
    const p = presentity();
    const bob = await subscribe(watchers, p, { watcher: 'sip:bob@127.0.0.1' });
    const carol = await subscribe(watchers, p, { watcher: 'sip:carol@127.0.0.1' });
    expect([bob.res.status, carol.res.status]).toEqual([200, 200]);
    const d = await watchWatchers(p);
    const first = await nthNotify(owner, d, 0);
    expect(subState(first)).toMatch(/^active;expires=\d+$/);
    expect(first.headers.get('event')).toBe('presence.winfo');
    const doc = winfo(first);
    expect(doc.state).toBe('full');
    expect([0, 1]).toContain(doc.version);
    expect(doc.watcherLists).toHaveLength(1);
    expect(doc.watcherLists[0]).toMatchObject({ resource: p, package: 'presence' });
    expect(byUri(doc, 'sip:bob@127.0.0.1')).toEqual([expect.objectContaining({ status: 'active' })]);
    expect(byUri(doc, 'sip:carol@127.0.0.1')).toEqual([expect.objectContaining({ status: 'active' })]);
    // RFC 3858 §4.3: the id attribute is unique per watcher (subscription).
    const ids = watchersIn(doc).map((w) => w.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('RFC 3857 §5.2 / RFC 3858 §4.1: with no watcher yet the first NOTIFY is a full document with an empty watcher-list', async () => {
    const p = presentity();
    const d = await watchWatchers(p);
    const doc = winfo(await nthNotify(owner, d, 0));
    expect(doc.state).toBe('full');
    expect(watchersIn(doc)).toEqual([]);
  });

  it('RFC 3857 §3.3 / RFC 3858 §4.1: a new watcher gives a partial NOTIFY naming that watcher with its status, version + 1', async () => {
    const p = presentity();
    const d = await watchWatchers(p);
    const v0 = winfo(await nthNotify(owner, d, 0)).version;
    const bob = await subscribe(watchers, p, { watcher: 'sip:bob@127.0.0.1', extra: [] });
    expect(bob.res.status).toBe(200);
    const doc = winfo(await nthNotify(owner, d, 1));
    expect(doc.state).toBe('partial');
    expect(doc.version).toBe(v0 + 1);
    expect(watchersIn(doc)).toHaveLength(1);
    expect(watchersIn(doc)[0]).toMatchObject({ uri: 'sip:bob@127.0.0.1', status: 'active' });
    expect(['subscribe', 'approved']).toContain(watchersIn(doc)[0]?.event);
  });

  it('RFC 3858 §4.1: "version ... MUST be incremented by one" for each NOTIFY of the winfo subscription', async () => {
    const p = presentity();
    const d = await watchWatchers(p);
    await nthNotify(owner, d, 0);
    const subs: WatcherDialog[] = [];
    for (const w of ['bob', 'carol', 'dave']) subs.push((await subscribe(watchers, p, { watcher: `sip:${w}@127.0.0.1` })).dialog!);
    await nthNotify(owner, d, 3);
    expect((await resubscribe(watchers, subs[0]!, 0)).status).toBe(200);
    await nthNotify(owner, d, 4);
    expect((await resubscribe(owner, d, 600)).status).toBe(200); // a winfo refresh: full state again
    await nthNotify(owner, d, 5);
    const versions = notifiesOf(owner, d).map((n) => winfo(n).version);
    for (let i = 1; i < versions.length; i++) expect(versions[i]).toBe((versions[i - 1] as number) + 1);
    expect(winfo(notifiesOf(owner, d)[5]!).state).toBe('full');
  });

  it('seed 001 / RFC 3857 §3.3: a watcher that un-SUBSCRIBEs gives the winfo watcher the full state, showing it terminated', async () => {
    const p = presentity();
    const bob = (await subscribe(watchers, p, { watcher: 'sip:bob@127.0.0.1' })).dialog!;
    const carol = (await subscribe(watchers, p, { watcher: 'sip:carol@127.0.0.1' })).dialog!;
    await nthNotify(watchers, carol, 0);
    const d = await watchWatchers(p);
    await nthNotify(owner, d, 0);
    expect((await resubscribe(watchers, bob, 0)).status).toBe(200);
    const doc = winfo(await nthNotify(owner, d, 1));
    expect(doc.state).toBe('full');
    expect(byUri(doc, 'sip:carol@127.0.0.1')).toEqual([expect.objectContaining({ status: 'active' })]);
    // RFC 3858 §4.3: a terminated watcher is shown terminated (or left out once forgotten).
    for (const w of byUri(doc, 'sip:bob@127.0.0.1')) expect(w.status).toBe('terminated');
    expect(byUri(doc, 'sip:bob@127.0.0.1').every((w) => w.event === 'timeout')).toBe(true);
  });

  it('RFC 6665 §4.2.2: a watcher removed because its NOTIFY failed (481) is reported to the winfo watcher in full state', async () => {
    const p = presentity();
    const d = await watchWatchers(p);
    await nthNotify(owner, d, 0);
    const gone = await SipTestClient.open(transport, h[transport]);
    try {
      gone.answerStatus = { NOTIFY: 481 };
      await subscribe(gone, p, { watcher: 'sip:ghost@127.0.0.1' });
      await eventually(() => notifiesOf(owner, d).some((n) => winfo(n).state === 'full' && byUri(winfo(n), 'sip:ghost@127.0.0.1').some((w) => w.status === 'terminated')));
    } finally {
      await gone.close();
    }
  });

  it('RFC 6665 §4.4.3: a fetch (Expires: 0) by a watcher ends with the winfo watcher seeing it terminated, not active', async () => {
    const p = presentity();
    const d = await watchWatchers(p);
    await nthNotify(owner, d, 0);
    const fetch = await subscribe(watchers, p, { watcher: 'sip:fetcher@127.0.0.1', expires: 0 });
    expect(fetch.res.status).toBe(200);
    await nthNotify(watchers, fetch.dialog!, 0);
    await eventually(() => notifiesOf(owner, d).length >= 2);
    await sleep(300);
    const last = notifiesOf(owner, d).at(-1)!;
    const mentions = byUri(winfo(last), 'sip:fetcher@127.0.0.1');
    expect(mentions.length).toBeGreaterThan(0);
    expect(mentions.every((w) => w.status === 'terminated')).toBe(true);
  });

  it('RFC 6665 §4.2.1.4: un-SUBSCRIBing from presence.winfo gives NOTIFY terminated;reason=timeout and ends the winfo subscription', async () => {
    const p = presentity();
    const d = await watchWatchers(p);
    await nthNotify(owner, d, 0);
    expect((await resubscribe(owner, d, 0)).status).toBe(200);
    const last = await nthNotify(owner, d, 1);
    expect(subState(last)).toBe('terminated;reason=timeout');
    await eventually(async () => (await h.app.store.subscriptions.byDialog(d.callId, d.toTag, d.fromTag)) === undefined);
    await subscribe(watchers, p, { watcher: 'sip:late@127.0.0.1' });
    await sleep(300);
    expect(notifiesOf(owner, d)).toHaveLength(2);
  });

  it('RFC 3857 §4: presence.winfo watchers are not presence watchers: a PUBLISH does not NOTIFY them', async () => {
    const p = presentity();
    const d = await watchWatchers(p);
    await nthNotify(owner, d, 0);
    const pub = await owner.request('PUBLISH', p, [['From', `<${p}>;tag=${rnd()}`], ['To', `<${p}>`], ['Event', 'presence'], ['Expires', '60'], ['Content-Type', 'application/pidf+xml']],
      `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${p}"><tuple id="x"><status><basic>open</basic></status></tuple></presence>`);
    expect(pub.status).toBe(200);
    await sleep(300);
    expect(notifiesOf(owner, d)).toHaveLength(1);
    expect(bodyOf(notifiesOf(owner, d)[0]!)).not.toContain('pidf');
  });
});
