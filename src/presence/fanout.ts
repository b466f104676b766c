/**
 * Telling watchers: after a change of a presentity's state, every non-terminated subscription to it
 * gets a NOTIFY (RFC 6665 §4.2.2, RFC 3856 §6.7). The document is composed and serialized once
 * per change; pending watchers get a NOTIFY without body (seed 001), polite-blocked ones a closed
 * document (RFC 5025 §3.2.1). Watcher-info subscribers (RFC 3857) hear about watcher changes.
 */
import type { Clock } from '../clock';
import { buildWatcherinfo } from '../bodies/winfo';
import { authorize, ruleForWatcher } from './authorization';
import { PIDF_TYPE, type ComposedDocument, type PresenceDocuments } from './documents';
import type { Publication, Subscription, SubscriptionState, TerminationReason, WatcherRecord } from './model';
import type { Notification, NotificationSink, Store } from './ports';

export const WINFO_TYPE = 'application/watcherinfo+xml';

export interface FanoutOptions {
  store: Store;
  sink: NotificationSink;
  documents: PresenceDocuments;
  clock: Clock;
  forceActive: boolean;
  /** HTTP watchers (issue 9): told after every change, without waiting (http-watchers.ts queues the work). */
  web?: { presentityChanged(presentity: string): void };
}

export class Fanout {
  constructor(private readonly o: FanoutOptions) {}

  /** The presentity's document changed (publish, modify, remove, expiry, HTTP write). */
  async presentityChanged(presentity: string, last?: Publication): Promise<void> {
    try {
      await this.notifyWatchers(presentity, last);
    } finally {
      // After the SIP fan-out has its NOTIFYs under way; HTTP delivery never holds it up.
      this.o.web?.presentityChanged(presentity);
    }
  }

  /** pres_rules of the presentity changed: HTTP watchers may now see (or not see) its status. */
  rulesChanged(presentity: string): void {
    this.o.web?.presentityChanged(presentity);
  }

  private async notifyWatchers(presentity: string, last?: Publication): Promise<void> {
    const now = this.o.clock.now();
    // Read what you need once: the document is read and composed only when someone is watching.
    // seed 001 (publ_notify tells active watchers only): a pending watcher hears nothing of the
    // presentity's changes, not even their timing, until it is authorized (RFC 3856 §6.6).
    // One statement reads the active watchers and takes each one's CSeq (the lock keeps them in document order).
    const subs = await this.o.store.subscriptions.claimActive(presentity, 'presence', now);
    if (subs.length === 0) return;
    const live = await this.o.store.publications.live(presentity, 'presence', now);
    const doc = this.o.documents.compose(presentity, live, last);
    const polite = await this.politeWatchers(presentity, subs);
    await this.o.sink.notify(subs.map((s) => ({ ...this.presenceNotification(s, doc, polite.has(s.watcher)), cseq: s.localCseq })));
  }

  /**
   * One subscription's NOTIFY with the current state (first NOTIFY, refresh, state change).
   * `withState`: a terminating NOTIFY that still carries the state (RFC 6665 §4.4.3 fetch).
   */
  async notifyOne(sub: Subscription, override?: { state?: SubscriptionState; reason?: TerminationReason; withState?: boolean; cseq?: number }): Promise<void> {
    const state = override?.state ?? sub.state;
    // A CSeq already reserved (the first NOTIFY's, stored with the row) or read from a removed row.
    const reason = { ...(override?.reason ? { reason: override.reason } : {}), ...(override?.cseq !== undefined ? { cseq: override.cseq } : {}) };
    // RFC 6665 §4.4.3: a fetch (Expires: 0) gets "a NOTIFY request containing resource state" that also ends it.
    const withBody = state === 'active' || (override?.withState === true && sub.state === 'active');
    if (!withBody) {
      await this.o.sink.notify([{ subscription: sub, state, ...reason }]);
      return;
    }
    if (sub.event === 'presence.winfo') {
      await this.notifyWinfo(sub, 'full', await this.o.store.watchers.list(sub.presentity, 'presence'), { state, ...reason });
      return;
    }
    const now = this.o.clock.now();
    const live = await this.o.store.publications.live(sub.presentity, 'presence', now);
    const doc = this.o.documents.compose(sub.presentity, live);
    const polite = await this.politeWatchers(sub.presentity, [sub]);
    // seed 001 and the real clients: with no publication the first NOTIFY carries no body.
    const n = live.length === 0 ? { subscription: sub, state, ...reason } : { ...this.presenceNotification(sub, doc, polite.has(sub.watcher)), state, ...reason };
    await this.o.sink.notify([n]);
  }

  /**
   * RFC 3857 §3.3 / seed 001: a watcher of presence appeared, changed state or left; the presentity's
   * winfo subscribers get a partial document about it, or the full list when `full`.
   */
  async watchersChanged(presentity: string, changed: WatcherRecord[], full = false): Promise<void> {
    const now = this.o.clock.now();
    const winfoSubs = (await this.o.store.subscriptions.forPresentity(presentity, 'presence.winfo', now)).filter((s) => s.state === 'active');
    if (winfoSubs.length === 0) return;
    const watchers = full ? await this.o.store.watchers.list(presentity, 'presence') : changed;
    for (const s of winfoSubs) await this.notifyWinfo(s, full ? 'full' : 'partial', watchers);
  }

  private async notifyWinfo(
    sub: Subscription,
    state: 'full' | 'partial',
    watchers: WatcherRecord[],
    as: { state: SubscriptionState; reason?: TerminationReason } = { state: 'active' },
  ): Promise<void> {
    // RFC 3858 §4: "the version ... MUST be incremented by one for each new document" sent on the subscription.
    const version = await this.o.store.subscriptions.nextVersion(sub.id);
    if (version === undefined) return;
    const content = buildWatcherinfo({
      version,
      state,
      resource: sub.presentity,
      package: 'presence',
      watchers: watchers.map((w) => ({
        id: w.subscriptionId,
        status: w.status,
        event: w.lastEvent,
        uri: w.watcher,
        displayName: w.watcherDisplayName,
        durationSubscribed: Math.max(0, Math.round((this.o.clock.now() - w.createdAt) / 1000)),
      })),
    });
    await this.o.sink.notify([{ subscription: sub, ...as, body: { contentType: WINFO_TYPE, content } }]);
  }

  private presenceNotification(s: Subscription, doc: ComposedDocument, polite: boolean): Notification {
    if (s.state !== 'active') return { subscription: s, state: s.state };
    return { subscription: s, state: 'active', body: { contentType: PIDF_TYPE, content: polite ? doc.politeContent() : doc.content } };
  }

  /** Watchers that are polite-blocked: the presentity's rules are read once, only when force_active is off. */
  private async politeWatchers(presentity: string, subs: Subscription[]): Promise<Set<string>> {
    const out = new Set<string>();
    if (this.o.forceActive) return out;
    const rules = await this.o.store.rules.list(presentity);
    for (const s of subs) if (authorize(false, ruleForWatcher(rules, s.watcher)).polite) out.add(s.watcher);
    return out;
  }
}
