/**
 * The notifier's SUBSCRIBE procedure (RFC 6665 §4.2.1, RFC 3856, RFC 3857; seed 001
 * handle_subscribe()): a new SUBSCRIBE creates the dialog and the subscription, an in-dialog one
 * refreshes or ends it. Every change is committed before the reply; NOTIFYs follow the reply.
 */
import type { Clock, Random } from '../clock';
import { PresenceError } from '../errors';
import { authorize, mayWatchWatchers } from './authorization';
import { allEvents, eventPackage, type EventPackage } from './event-packages/registry';
import { grantExpires, type ExpiresLimits } from './expires';
import type { Fanout } from './fanout';
import type { KeyedLocks } from './locks';
import type { Subscription, TerminationReason, Via, WatcherEvent, WatcherRecord } from './model';
import type { Repositories, Store } from './ports';
import { transition } from './subscription-state';

/** CSeq of the first NOTIFY of a new subscription (RFC 3261 §8.1.1.5: any value below 2^31 may start). */
const FIRST_NOTIFY_CSEQ = 1;

export interface SubscribeRequest {
  presentity: string;
  event: string | undefined;
  eventId: string | null;
  watcher: string;
  watcherDisplayName: string | null;
  callId: string;
  remoteTag: string;
  /** To tag: null for a new SUBSCRIBE, the dialog's local tag for an in-dialog one. */
  localTag: string | null;
  remoteUri: string;
  localUri: string;
  cseq: number;
  remoteTarget: string | null;
  contactInstance: string | null;
  routeSet: string[];
  via: Via;
  expires: number | undefined;
  /** Accept header values (media types), null when absent. */
  accept: string[] | null;
}

export interface SubscribeResult {
  status: 200 | 202;
  localTag: string;
  expires: number;
  after: () => Promise<void>;
}

export interface SubscriptionServiceOptions {
  store: Store;
  clock: Clock;
  random: Random;
  locks: KeyedLocks;
  fanout: Fanout;
  limits: ExpiresLimits;
  forceActive: boolean;
  toTagPref: string;
  subscribeReplyCode: number;
  nodeId: string;
  /** Most live subscriptions to one presentity's event (0: no cap); beyond it a new SUBSCRIBE is 480. */
  maxWatchers: number;
  /** Retry-After of that 480, in seconds. */
  watcherCapRetryAfterSec: number;
}

export class SubscriptionService {
  constructor(private readonly o: SubscriptionServiceOptions) {}

  async subscribe(r: SubscribeRequest): Promise<SubscribeResult> {
    // RFC 6665 §4.2.1: "If the notifier does not understand the event package ... 489 (Bad Event)" with Allow-Events.
    const pkg = r.event ? eventPackage(r.event) : undefined;
    if (!pkg) throw new PresenceError('BAD_EVENT', 'Bad Event', { 'Allow-Events': allEvents().join(', ') });
    checkAccept(pkg, r.accept);
    const expires = grantExpires(r.expires, this.o.limits);
    return r.localTag === null ? this.create(r, pkg, expires) : this.inDialog(r, pkg, r.localTag, expires);
  }

  private async create(r: SubscribeRequest, pkg: EventPackage, expires: number): Promise<SubscribeResult> {
    if (!r.remoteTarget) throw new PresenceError('BAD_REQUEST', 'Missing Contact');
    let state: Subscription['state'] = 'active';
    if (pkg.watchedPackage) {
      // RFC 3857 §5.1: authorize winfo subscriptions; Herald lets only the presentity watch its watchers.
      if (!mayWatchWatchers(r.watcher, r.presentity)) throw new PresenceError('FORBIDDEN', 'Forbidden');
    } else {
      const rule = this.o.forceActive ? undefined : await this.o.store.rules.ruleFor(r.presentity, r.watcher);
      const d = authorize(this.o.forceActive, rule);
      if (d.state === 'rejected') throw new PresenceError('FORBIDDEN', 'Forbidden');
      state = d.state;
    }
    const now = this.o.clock.now();
    const sub: Subscription = {
      id: this.o.random.token(12),
      presentity: r.presentity, event: pkg.name, eventId: r.eventId,
      watcher: r.watcher, watcherDisplayName: r.watcherDisplayName,
      callId: r.callId, remoteTag: r.remoteTag, localTag: `${this.o.toTagPref}${this.o.random.token(9)}`,
      remoteUri: r.remoteUri, localUri: r.localUri, remoteCseq: r.cseq,
      // The first NOTIFY's CSeq is reserved with the row: no UPDATE to take it (later ones are bumped atomically).
      localCseq: FIRST_NOTIFY_CSEQ,
      remoteTarget: r.remoteTarget, routeSet: r.routeSet, contactInstance: r.contactInstance, via: r.via,
      state: transition('init', state), reason: null, expiresAt: now + expires * 1000, version: 0,
      node: this.o.nodeId, createdAt: now, updatedAt: now,
    };
    const record = pkg.watchedPackage ? null : watcherRecord(sub, sub.state === 'active' ? 'approved' : 'subscribe', now);
    await this.o.locks.run(r.presentity, async () => {
      if (expires > 0) await this.checkWatcherCap(r, pkg.name, now);
      await this.o.store.transaction(async (tx) => {
        // Re-subscribing devices replace their older subscription (same contact or +sip.instance);
        // a fetch (Expires 0) is not a re-subscription and leaves the device's live one alone.
        if (expires > 0) {
          for (const old of await tx.subscriptions.sameDevice(r.presentity, pkg.name, r.watcher, r.remoteTarget as string, r.contactInstance)) {
            await this.drop(tx, old);
          }
        }
        // A fetch is stored terminated: no fan-out picks it up before its one NOTIFY (RFC 6665 §4.4.3).
        await tx.subscriptions.insert(expires > 0 ? sub : { ...sub, state: transition(sub.state, 'terminated'), reason: 'timeout' });
        if (record) await tx.watchers.upsert(record);
      });
    });
    return {
      status: this.replyCode(pkg),
      localTag: sub.localTag,
      expires,
      after: async () => {
        // RFC 6665 §4.2.1: "the notifier MUST send a NOTIFY request immediately" after accepting.
        if (expires === 0) {
          // RFC 6665 §4.4.3: a fetch gets one NOTIFY "containing resource state", terminated;reason=timeout;
          // ending it gives the winfo watchers the full list, so no partial "new watcher" before it.
          await this.o.fanout.notifyOne(sub, { state: 'terminated', reason: 'timeout', withState: true, cseq: FIRST_NOTIFY_CSEQ });
          await this.end(sub, 'timeout', false);
          return;
        }
        await this.o.fanout.notifyOne(sub, { cseq: FIRST_NOTIFY_CSEQ });
        // seed 001: a new presence watcher → partial winfo to the presentity's winfo subscribers.
        if (record) await this.o.fanout.watchersChanged(r.presentity, [record]);
      },
    };
  }

  private async inDialog(r: SubscribeRequest, pkg: EventPackage, localTag: string, expires: number): Promise<SubscribeResult> {
    return this.o.locks.run(r.presentity, async () => {
      const sub = await this.o.store.subscriptions.byDialog(r.callId, localTag, r.remoteTag);
      // RFC 6665 §4.2.1.2 / RFC 3261 §12.2.2: no matching dialog → 481.
      // A terminated subscription (un-SUBSCRIBEd, fetched, rejected) is on its way out: the dialog is over.
      if (!sub || sub.event !== pkg.name || sub.state === 'terminated') throw new PresenceError('NO_SUCH_DIALOG');
      // RFC 3261 §12.2.2: "If the remote sequence number ... is lower than or equal ... 500".
      if (r.cseq <= sub.remoteCseq) throw new PresenceError('SERVER_ERROR', 'CSeq out of order');
      const now = this.o.clock.now();
      if (expires === 0) {
        // RFC 6665 §4.2.1.4: an un-SUBSCRIBE ends the subscription. It is removed in the same commit as the
        // 200, so no fan-out can send an active NOTIFY after the final one, which takes the CSeq after the row's last.
        transition(sub.state, 'terminated');
        const removed = await this.o.store.transaction((tx) => this.drop(tx, sub, 'timeout'));
        if (!removed) throw new PresenceError('NO_SUCH_DIALOG'); // the sweeper or another node ended it first
        return { status: 200 as const, localTag, expires: 0, after: () => this.ended({ ...sub, remoteCseq: r.cseq }, removed, 'timeout') };
      }
      const patch = { expiresAt: now + expires * 1000, remoteCseq: r.cseq, updatedAt: now, ...(r.remoteTarget ? { remoteTarget: r.remoteTarget } : {}) };
      await this.o.store.transaction((tx) => tx.subscriptions.update(sub.id, patch));
      // RFC 6665 §4.2.1.2: a refresh is answered and followed by a NOTIFY with the current state.
      return { status: 200 as const, localTag, expires, after: () => this.o.fanout.notifyOne({ ...sub, ...patch }) };
    });
  }

  /**
   * End a subscription: remove it, record the watcher as terminated, NOTIFY terminated (RFC 6665 §4.2.2)
   * with the CSeq after the removed row's last one, and give the presentity's winfo watchers the full
   * list (seed 001). Removing first takes the final CSeq from the same statement, and a subscription
   * that is already gone (the sweeper or another node ended it) is told nothing twice.
   */
  async end(sub: Subscription, reason: TerminationReason, tell = true): Promise<void> {
    const removed = await this.o.store.transaction((tx) => this.drop(tx, sub, reason));
    if (removed) await this.ended(sub, removed, reason, tell);
  }

  /** After the removal committed: the final NOTIFY (CSeq after the removed row's last) and the winfo watchers' full list. */
  private async ended(sub: Subscription, removed: Subscription, reason: TerminationReason, tell = true): Promise<void> {
    if (tell) await this.o.fanout.notifyOne(sub, { state: 'terminated', reason, cseq: removed.localCseq + 1 });
    if (sub.event === 'presence') await this.o.fanout.watchersChanged(sub.presentity, [], true);
  }

  private async drop(tx: Repositories, sub: Subscription, reason: TerminationReason = 'deactivated'): Promise<Subscription | undefined> {
    const removed = await tx.subscriptions.take(sub.id);
    if (removed && sub.event === 'presence') {
      await tx.watchers.upsert({ ...watcherRecord(sub, reason === 'invariant' ? 'deactivated' : reason, this.o.clock.now()), status: 'terminated' });
    }
    return removed;
  }

  /**
   * The watcher cap (issue 10, overload): a presentity with max_watchers live subscriptions takes no
   * new watcher; a device re-subscribing replaces its own subscription and is let in. RFC 3261
   * §21.4.18: 480 Temporarily Unavailable, "The server MAY indicate a better time to call in the
   * Retry-After header field". A fetch (Expires 0) holds no subscription and is never refused.
   */
  private async checkWatcherCap(r: SubscribeRequest, event: string, now: number): Promise<void> {
    if (this.o.maxWatchers <= 0) return;
    if ((await this.o.store.subscriptions.countFor(r.presentity, event, now)) < this.o.maxWatchers) return;
    if ((await this.o.store.subscriptions.sameDevice(r.presentity, event, r.watcher, r.remoteTarget as string, r.contactInstance)).length > 0) return;
    throw new PresenceError('TOO_MANY_WATCHERS', undefined, { 'Retry-After': String(this.o.watcherCapRetryAfterSec) });
  }

  private replyCode(pkg: EventPackage): 200 | 202 {
    // seed 001: "200OK for ... presence.winfo and 202OK for ... presence" when subscribe_reply_code=202.
    return this.o.subscribeReplyCode === 202 && !pkg.watchedPackage ? 202 : 200;
  }
}

function watcherRecord(sub: Subscription, event: WatcherEvent, now: number): WatcherRecord {
  return {
    presentity: sub.presentity, watcher: sub.watcher, watcherDisplayName: sub.watcherDisplayName, event: sub.event,
    subscriptionId: sub.id, status: sub.state === 'terminated' ? 'terminated' : sub.state, lastEvent: event,
    createdAt: sub.createdAt, updatedAt: now,
  };
}

/** RFC 6665 §4.2.1 / RFC 3261 §21.4.7: an Accept that excludes every type of the package → 406. */
function checkAccept(pkg: EventPackage, accept: string[] | null): void {
  if (accept === null || accept.length === 0) return;
  const ok = accept.some((a) => {
    const t = (a.split(';')[0] ?? '').trim().toLowerCase();
    return t === '*/*' || pkg.contentTypes.some((c) => c === t || (t.endsWith('/*') && c.startsWith(t.slice(0, -1))));
  });
  if (!ok) throw new PresenceError('NOT_ACCEPTABLE', 'Not Acceptable', { Accept: pkg.contentTypes.join(', ') });
}
