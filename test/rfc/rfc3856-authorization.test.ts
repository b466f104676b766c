/**
 * Presence authorization (RFC 3856 §6.6, RFC 5025 §3.2.1 sub-handling, seed 001 force_active and
 * pres_rules) over real loopback UDP and TCP, and the rule service (src/presence/rules.ts) that
 * re-evaluates live subscriptions when a rule changes.
 */
import { systemClock } from '../../src/clock';
import { parseWatcherinfo, type WinfoWatcher } from '../../src/bodies/winfo';
import { isPresenceError } from '../../src/errors';
import { KeyedLocks } from '../../src/presence/locks';
import type { RuleAction } from '../../src/presence/model';
import { PresenceRules } from '../../src/presence/rules';
import type { SipRequest } from '../../src/sip/message';
import { startHerald, type RunningHerald } from '../support/herald';
import { SipTestClient } from '../support/sip-client';
import { bodyOf, eventually, nthNotify, notifiesOf, publish, resubscribe, rnd, sleep, subState, subscribe, type WatcherDialog } from '../support/subscriber';

const winfoWatchers = (n: SipRequest): WinfoWatcher[] => parseWatcherinfo(n.body).watcherLists.flatMap((l) => l.watchers);

describe.each(['udp', 'tcp'] as const)('RFC 3856 §6.6 / RFC 5025 authorization with force_active: 0 over %s', (transport) => {
  let h: RunningHerald;
  let c: SipTestClient;
  let owner: SipTestClient;
  let publisher: SipTestClient;
  let rules: PresenceRules;
  beforeAll(async () => {
    h = await startHerald({ force_active: 0 });
    c = await SipTestClient.open(transport, h[transport]);
    owner = await SipTestClient.open(transport, h[transport]);
    publisher = await SipTestClient.open('udp', h.udp);
    rules = new PresenceRules({ store: h.app.store, fanout: h.app.fanout, subscriptions: h.app.subscriptions, locks: new KeyedLocks(4), clock: systemClock, forceActive: false });
  });
  afterAll(async () => {
    await c.close();
    await owner.close();
    await publisher.close();
    await h.stop();
  });

  const presentity = (): string => `sip:alice-${rnd()}@127.0.0.1`;
  const rule = (p: string, watcher: string, action: RuleAction) => h.app.store.rules.put({ presentity: p, watcher, action, updatedAt: Date.now() });
  const stored = (d: WatcherDialog) => h.app.store.subscriptions.byDialog(d.callId, d.toTag, d.fromTag);
  const watchWatchers = async (p: string): Promise<WatcherDialog> => {
    const { res, dialog } = await subscribe(owner, p, { watcher: p, event: 'presence.winfo' });
    expect(res.status).toBe(200);
    await nthNotify(owner, dialog!, 0);
    return dialog!;
  };

  describe('at SUBSCRIBE time', () => {
    it('seed 001 force_active=0: with no rule the subscription is pending: 200, NOTIFY pending;expires=N without body, even when the presentity published', async () => {
      const p = presentity();
      await publish(publisher, p, 'open');
      const { res, dialog } = await subscribe(c, p);
      expect(res.status).toBe(200);
      const n = await nthNotify(c, dialog!, 0);
      expect(subState(n)).toMatch(/^pending;expires=\d+$/);
      expect(n.body.length).toBe(0);
      expect(n.headers.has('content-type')).toBe(false);
      expect((await stored(dialog!))?.state).toBe('pending');
    });

    it('RFC 3856 §6.6 / RFC 5025: a pending watcher hears nothing of later PUBLISHes, not even their timing', async () => {
      const p = presentity();
      const { dialog } = await subscribe(c, p);
      await nthNotify(c, dialog!, 0);
      await publish(publisher, p, 'open', { note: 'secret' });
      await publish(publisher, p, 'closed', { note: 'secret' });
      await sleep(400);
      expect(notifiesOf(c, dialog!)).toHaveLength(1);
      expect(bodyOf(notifiesOf(c, dialog!)[0]!)).not.toContain('secret');
    });

    it('RFC 3857 §3.3: the presentity\'s winfo watcher is told about a new pending watcher (status pending)', async () => {
      const p = presentity();
      const w = await watchWatchers(p);
      await subscribe(c, p, { watcher: 'sip:stranger@127.0.0.1' });
      const n = await nthNotify(owner, w, 1);
      expect(parseWatcherinfo(n.body).state).toBe('partial');
      expect(winfoWatchers(n)).toEqual([expect.objectContaining({ uri: 'sip:stranger@127.0.0.1', status: 'pending', event: 'subscribe' })]);
    });

    it('RFC 5025 §3.2.1 allow: an allowed watcher is active and gets the document', async () => {
      const p = presentity();
      await rule(p, 'sip:bob@127.0.0.1', 'allow');
      await publish(publisher, p, 'open', { note: 'hi-bob' });
      const { res, dialog } = await subscribe(c, p);
      expect(res.status).toBe(200);
      const n = await nthNotify(c, dialog!, 0);
      expect(subState(n)).toMatch(/^active;expires=\d+$/);
      expect(bodyOf(n)).toContain('hi-bob');
    });

    it('RFC 5025 §3.2.1 block: a blocked watcher is answered 403 and nothing is stored', async () => {
      const p = presentity();
      await rule(p, 'sip:bob@127.0.0.1', 'block');
      const { res } = await subscribe(c, p);
      expect(res.status).toBe(403);
      expect(await h.app.store.subscriptions.forPresentity(p, 'presence', Date.now())).toHaveLength(0);
    });

    it('RFC 5025 §3.2.1 polite-block: the watcher is active but sees <basic>closed</basic> although the presentity publishes open', async () => {
      const p = presentity();
      await rule(p, 'sip:bob@127.0.0.1', 'polite-block');
      await publish(publisher, p, 'open');
      const { res, dialog } = await subscribe(c, p);
      expect(res.status).toBe(200);
      const first = await nthNotify(c, dialog!, 0);
      expect(subState(first)).toMatch(/^active;/);
      expect(bodyOf(first)).toContain('<basic>closed</basic>');
      expect(bodyOf(first)).not.toContain('<basic>open</basic>');
      await publish(publisher, p, 'open', { note: 'still-open' });
      const second = await nthNotify(c, dialog!, 1);
      expect(bodyOf(second)).toContain('<basic>closed</basic>');
      expect(bodyOf(second)).not.toContain('<basic>open</basic>');
    });

    it('RFC 5025 §3.2.1 confirm: the watcher waits in pending like without a rule', async () => {
      const p = presentity();
      await rule(p, 'sip:bob@127.0.0.1', 'confirm');
      const { dialog } = await subscribe(c, p);
      expect(subState(await nthNotify(c, dialog!, 0))).toMatch(/^pending;/);
    });

    it('a domain rule applies to every watcher of the domain; a rule for the exact watcher wins over it', async () => {
      const p = presentity();
      await rule(p, 'example.org', 'allow');
      await rule(p, 'sip:eve@example.org', 'block');
      const ok = await subscribe(c, p, { watcher: 'sip:frank@example.org' });
      expect(ok.res.status).toBe(200);
      expect(subState(await nthNotify(c, ok.dialog!, 0))).toMatch(/^active;/);
      expect((await subscribe(c, p, { watcher: 'sip:eve@example.org' })).res.status).toBe(403);
      const other = await subscribe(c, p, { watcher: 'sip:bob@other.example' });
      expect(subState(await nthNotify(c, other.dialog!, 0))).toMatch(/^pending;/);
    });

    it('RFC 6665 §4.2.1.1: a pending subscription can be refreshed and stays pending', async () => {
      const p = presentity();
      const { dialog } = await subscribe(c, p);
      await nthNotify(c, dialog!, 0);
      expect((await resubscribe(c, dialog!, 900)).status).toBe(200);
      expect(subState(await nthNotify(c, dialog!, 1))).toMatch(/^pending;expires=(900|899)$/);
    });
  });

  describe('rules.ts: changing a rule re-evaluates live subscriptions', () => {
    it('pending → allow: the watcher gets NOTIFY active with the document; the winfo watcher a partial "approved"', async () => {
      const p = presentity();
      await publish(publisher, p, 'open', { note: 'now-you-see' });
      const w = await watchWatchers(p);
      const { dialog } = await subscribe(c, p);
      await nthNotify(c, dialog!, 0);
      await nthNotify(owner, w, 1); // the pending watcher
      const out = await rules.setRule({ presentity: p, watcher: 'sip:bob@127.0.0.1', action: 'allow' });
      expect(out.changes).toEqual([expect.objectContaining({ watcher: 'sip:bob@127.0.0.1', effect: 'activate' })]);
      const n = await nthNotify(c, dialog!, 1);
      expect(subState(n)).toMatch(/^active;expires=\d+$/);
      expect(bodyOf(n)).toContain('now-you-see');
      expect((await stored(dialog!))?.state).toBe('active');
      const wn = await nthNotify(owner, w, 2);
      expect(parseWatcherinfo(wn.body).state).toBe('partial');
      expect(winfoWatchers(wn)).toEqual([expect.objectContaining({ uri: 'sip:bob@127.0.0.1', status: 'active', event: 'approved' })]);
      // The stored rule decides later SUBSCRIBEs too.
      expect(await h.app.store.rules.ruleFor(p, 'sip:bob@127.0.0.1')).toMatchObject({ action: 'allow' });
    });

    it('active → block: NOTIFY terminated;reason=rejected, the subscription is removed, the winfo watcher sees it terminated/rejected', async () => {
      const p = presentity();
      await rule(p, 'sip:bob@127.0.0.1', 'allow');
      const w = await watchWatchers(p);
      const { dialog } = await subscribe(c, p);
      await nthNotify(c, dialog!, 0);
      await rules.setRule({ presentity: p, watcher: 'sip:bob@127.0.0.1', action: 'block' });
      const n = await nthNotify(c, dialog!, 1);
      expect(subState(n)).toBe('terminated;reason=rejected');
      expect(n.body.length).toBe(0);
      await eventually(async () => (await stored(dialog!)) === undefined);
      await eventually(() => notifiesOf(owner, w).some((x) => winfoWatchers(x).some((r) => r.uri === 'sip:bob@127.0.0.1' && r.status === 'terminated' && r.event === 'rejected')));
      // No later document reaches the blocked watcher; a new SUBSCRIBE is refused.
      await publish(publisher, p, 'open');
      await sleep(300);
      expect(notifiesOf(c, dialog!)).toHaveLength(2);
      expect((await subscribe(c, p)).res.status).toBe(403);
    });

    it('pending → polite-block: NOTIFY active with the closed document although the presentity is open', async () => {
      const p = presentity();
      await publish(publisher, p, 'open');
      const { dialog } = await subscribe(c, p);
      await nthNotify(c, dialog!, 0);
      await rules.setRule({ presentity: p, watcher: 'sip:bob@127.0.0.1', action: 'polite-block' });
      const n = await nthNotify(c, dialog!, 1);
      expect(subState(n)).toMatch(/^active;/);
      expect(bodyOf(n)).toContain('<basic>closed</basic>');
      expect(bodyOf(n)).not.toContain('<basic>open</basic>');
    });

    it('allow → polite-block → allow: the watcher gets the closed document, then the real one again', async () => {
      const p = presentity();
      await rule(p, 'sip:bob@127.0.0.1', 'allow');
      await publish(publisher, p, 'open');
      const { dialog } = await subscribe(c, p);
      expect(bodyOf(await nthNotify(c, dialog!, 0))).toContain('<basic>open</basic>');
      await rules.setRule({ presentity: p, watcher: 'sip:bob@127.0.0.1', action: 'polite-block' });
      expect(bodyOf(await nthNotify(c, dialog!, 1))).toContain('<basic>closed</basic>');
      const back = await rules.setRule({ presentity: p, watcher: 'sip:bob@127.0.0.1', action: 'allow' });
      expect(back.changes.map((x) => x.effect)).toEqual(['renotify']);
      expect(bodyOf(await nthNotify(c, dialog!, 2))).toContain('<basic>open</basic>');
    });

    it('removing the allow rule puts the watcher back to pending (NOTIFY pending, no body)', async () => {
      const p = presentity();
      await rule(p, 'sip:bob@127.0.0.1', 'allow');
      await publish(publisher, p, 'open');
      const { dialog } = await subscribe(c, p);
      await nthNotify(c, dialog!, 0);
      const out = await rules.removeRule(p, 'sip:bob@127.0.0.1');
      expect(out.removed).toBe(true);
      const n = await nthNotify(c, dialog!, 1);
      expect(subState(n)).toMatch(/^pending;expires=\d+$/);
      expect(n.body.length).toBe(0);
      expect((await stored(dialog!))?.state).toBe('pending');
    });

    it('a domain rule re-evaluates every watcher of that domain, except those with a rule of their own', async () => {
      const p = presentity();
      await rule(p, 'sip:eve@example.net', 'confirm');
      const frank = (await subscribe(c, p, { watcher: 'sip:frank@example.net' })).dialog!;
      const eve = (await subscribe(c, p, { watcher: 'sip:eve@example.net' })).dialog!;
      const bob = (await subscribe(c, p, { watcher: 'sip:bob@127.0.0.1' })).dialog!;
      for (const d of [frank, eve, bob]) await nthNotify(c, d, 0);
      const out = await rules.setRule({ presentity: p, watcher: 'EXAMPLE.net', action: 'allow' });
      expect(out.rule?.watcher).toBe('example.net');
      expect(out.changes.map((x) => x.watcher)).toEqual(['sip:frank@example.net']);
      expect(subState(await nthNotify(c, frank, 1))).toMatch(/^active;/);
      await sleep(300);
      expect(notifiesOf(c, eve)).toHaveLength(1);
      expect(notifiesOf(c, bob)).toHaveLength(1);
    });

    it('a rule that does not change the decision sends nothing', async () => {
      const p = presentity();
      await rule(p, 'sip:bob@127.0.0.1', 'allow');
      const { dialog } = await subscribe(c, p);
      await nthNotify(c, dialog!, 0);
      const out = await rules.setRule({ presentity: p, watcher: '127.0.0.1', action: 'block' });
      expect(out.changes).toEqual([]);
      await sleep(300);
      expect(notifiesOf(c, dialog!)).toHaveLength(1);
    });

    it('refuses a malformed rule with a 400-class PresenceError and stores nothing', async () => {
      const p = presentity();
      for (const bad of [
        { presentity: 'not a uri', watcher: 'sip:bob@127.0.0.1', action: 'allow' as const },
        { presentity: p, watcher: 'bob@@', action: 'allow' as const },
        { presentity: p, watcher: 'sip:bob@127.0.0.1', action: 'maybe' as unknown as RuleAction },
      ]) {
        const err = await rules.setRule(bad).then(() => null, (e: unknown) => e);
        expect(isPresenceError(err) && err.sipStatus === 400).toBe(true);
      }
      expect(await h.app.store.rules.list(p)).toEqual([]);
    });
  });
});

describe('force_active: 1 (the default)', () => {
  let h: RunningHerald;
  let c: SipTestClient;
  beforeAll(async () => {
    h = await startHerald();
    c = await SipTestClient.open('udp', h.udp);
  });
  afterAll(async () => {
    await c.close();
    await h.stop();
  });

  it('seed 001 force_active=1: every watcher is active, pres_rules are not consulted (even block)', async () => {
    const p = `sip:alice-${rnd()}@127.0.0.1`;
    await h.app.store.rules.put({ presentity: p, watcher: 'sip:bob@127.0.0.1', action: 'block', updatedAt: Date.now() });
    const { res, dialog } = await subscribe(c, p);
    expect(res.status).toBe(200);
    expect(subState(await nthNotify(c, dialog!, 0))).toMatch(/^active;/);
    const rules = new PresenceRules({ store: h.app.store, fanout: h.app.fanout, subscriptions: h.app.subscriptions, locks: new KeyedLocks(4), clock: systemClock, forceActive: true });
    const out = await rules.setRule({ presentity: p, watcher: 'sip:bob@127.0.0.1', action: 'polite-block' });
    expect(out.changes).toEqual([]);
    await sleep(300);
    expect(notifiesOf(c, dialog!)).toHaveLength(1);
  });
});
