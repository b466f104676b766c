/**
 * HTTP watchers get what SIP watchers get (issue 9): after every change of a presentity (PUBLISH,
 * HTTP write, sweeper expiry — Fanout.presentityChanged), each live HTTP subscription watching it
 * gets ONE event with the status GET /v1/presence shows, if that status differs from the last one
 * it was told. The work is queued per presentity and runs after the SIP fan-out, so SIP replies and
 * NOTIFYs never wait for it; a change arriving while one is queued (not started) is folded into it,
 * since the queued run reads the latest state.
 *
 * No work on the PUBLISH path for presentities nobody watches over HTTP: a node keeps the set of
 * watched presentities (loaded once, grown by local subscriptions at once and by other nodes'
 * through a poll of recently added members, which then re-tells those presentities so a change made
 * here in between is not lost). Until the set is loaded every change costs one indexed query. The set
 * only grows (a stale entry costs that one query); a restart trims it.
 *
 * Authorization (RFC 5025 §3.2.1, as authorization.ts applies it to SIP watchers): a subscription
 * is a watcher named by its `watcher` identity; pending and blocked watchers see nothing,
 * polite-blocked ones "offline". An app's subscription is authorized by the user's grant (seed 002).
 */
import type { Clock } from '../clock';
import { statusOf } from '../bodies/rpid';
import { authorize, ruleForWatcher } from './authorization';
import type { PresenceDocuments } from './documents';
import type { EventBus } from './event-bus';
import type { NewWebEvent, PresRule, WebStatus, WebSubscription } from './model';
import type { Store, WebSubscriptionRepository } from './ports';

const EVENT = 'presence';

export interface HttpWatchersOptions {
  repo: WebSubscriptionRepository;
  store: Store;
  documents: PresenceDocuments;
  clock: Clock;
  bus: EventBus;
  forceActive: boolean;
  onError: (err: unknown, presentity: string) => void;
}

interface Tail {
  promise: Promise<void>;
  started: boolean;
}

export class HttpWatchers {
  private readonly tails = new Map<string, Tail>();
  private readonly watched = new Set<string>();
  private loaded = false;
  /** Clock time of the last refresh's query (members added since are looked for next time). */
  private refreshedAt = 0;

  constructor(private readonly o: HttpWatchersOptions) {}

  /** The hook of Fanout.presentityChanged: queue the HTTP watchers' events, return at once. */
  presentityChanged(presentity: string): void {
    if (this.loaded && !this.watched.has(presentity)) return;
    void this.changed(presentity);
  }

  /** Presentities that gain an HTTP watcher here (before their members are stored). */
  watch(presentities: readonly string[]): void {
    for (const p of presentities) this.watched.add(p);
  }

  /**
   * Load the watched set, then learn of members other nodes added (with a margin for commit delay
   * and clock skew): those presentities are told again (a change in between would else be missed;
   * one already told is no event, the last status is compared).
   */
  async refresh(marginMs = 10_000): Promise<void> {
    const now = this.o.clock.now();
    const since = this.loaded ? this.refreshedAt - marginMs : null;
    const found = await this.o.repo.watchedPresentities(since, now);
    this.refreshedAt = now;
    const fresh = found.filter((p) => !this.watched.has(p));
    for (const p of found) this.watched.add(p);
    const first = !this.loaded;
    this.loaded = true;
    if (!first) for (const p of fresh) this.presentityChanged(p);
  }

  /** Queue a run for `presentity`; resolves when a run that started after this call has finished. */
  changed(presentity: string): Promise<void> {
    const tail = this.tails.get(presentity);
    // A queued run that has not started yet reads the latest state: this change is folded into it.
    if (tail && !tail.started) return tail.promise;
    const entry: Tail = { started: false, promise: Promise.resolve() };
    entry.promise = (tail?.promise ?? Promise.resolve())
      .then(() => {
        entry.started = true;
        return this.tell(presentity);
      })
      .catch((err: unknown) => this.o.onError(err, presentity))
      .finally(() => {
        if (this.tails.get(presentity) === entry) this.tails.delete(presentity);
      });
    this.tails.set(presentity, entry);
    return entry.promise;
  }

  /** Wait for the queued runs (graceful stop). */
  async drain(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()].map((t) => t.promise));
  }

  /** The status GET /v1/presence shows (http/views.ts): offline with nothing live, else RPID's summary of the composed document. */
  async statusOf(presentity: string, now: number): Promise<WebStatus> {
    const live = await this.o.store.publications.live(presentity, EVENT, now);
    if (live.length === 0) return 'offline';
    return statusOf(this.o.documents.compose(presentity, live).doc).status;
  }

  /** What a subscription may see of `status`: the status, "offline" when polite-blocked, null when pending or blocked. */
  seen(sub: WebSubscription, rules: readonly PresRule[], status: WebStatus): WebStatus | null {
    // seed 002: the user granted the app access — that grant is the authorization.
    if (sub.appId !== null) return status;
    const d = authorize(this.o.forceActive, ruleForWatcher(rules, sub.watcher));
    if (d.state !== 'active') return null;
    // RFC 5025 §3.2.1 polite-block: the watcher gets a document that "hides the presentity's status".
    return d.polite ? 'offline' : status;
  }

  /** The rules of a presentity, read only when they can matter (force_active off, a non-app watcher). */
  async rulesFor(presentity: string, subs: readonly WebSubscription[]): Promise<PresRule[]> {
    if (this.o.forceActive || subs.every((s) => s.appId !== null)) return [];
    return this.o.store.rules.list(presentity);
  }

  private async tell(presentity: string): Promise<void> {
    const now = this.o.clock.now();
    const watchers = await this.o.repo.watchersOf(presentity, now);
    if (watchers.length === 0) return;
    const status = await this.statusOf(presentity, now);
    const rules = await this.rulesFor(presentity, watchers.map((w) => w.subscription));
    const events: NewWebEvent[] = [];
    const webhooks = new Set<string>();
    for (const w of watchers) {
      if (w.subscription.webhookUrl !== null) webhooks.add(w.subscription.id);
      const seen = this.seen(w.subscription, rules, status);
      if (seen === null || seen === w.lastStatus) continue;
      events.push({ subscriptionId: w.subscription.id, type: 'presence', uri: presentity, status: seen, at: now });
    }
    if (events.length === 0) return;
    this.o.bus.published(await this.o.repo.append(events), webhooks);
  }
}
