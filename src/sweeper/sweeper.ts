/**
 * One sweep (seed 001 clean_period): expired publications are removed and their presentities'
 * watchers told (a closed document when nothing is left); expired subscriptions get NOTIFY
 * terminated;reason=timeout and the presentity's winfo watchers a partial update; old watcher
 * records and expired registrations are pruned. Work goes in batches of sweep_batch_size; each row
 * is claimed by exactly one caller (takeExpired), so two nodes sweeping at once tell each change once.
 */
import type { Clock } from '../clock';
import type { Logger } from '../log';
import type { Fanout } from '../presence/fanout';
import type { Publication, Subscription, WatcherRecord } from '../presence/model';
import type { NotificationSink, Store } from '../presence/ports';

export interface SweepCounters {
  sweeps: number;
  publicationsExpired: number;
  subscriptionsExpired: number;
  watchersPruned: number;
  registrationsPruned: number;
  notifiesSent: number;
  lastDurationMs: number;
  /** How late the oldest expired row was handled, in ms, in the last sweep. */
  lastLagMs: number;
}

export interface SweeperOptions {
  store: Store;
  fanout: Fanout;
  sink: NotificationSink;
  clock: Clock;
  log: Logger;
  batchSize: number;
  watcherRetentionSec: number;
}

export class Sweeper {
  readonly counters: SweepCounters = {
    sweeps: 0, publicationsExpired: 0, subscriptionsExpired: 0, watchersPruned: 0, registrationsPruned: 0,
    notifiesSent: 0, lastDurationMs: 0, lastLagMs: 0,
  };

  constructor(private readonly o: SweeperOptions) {}

  /** Runs until nothing expired is left (batch after batch). Returns what this run handled. */
  async sweep(): Promise<{ publications: number; subscriptions: number; watchers: number; registrations: number }> {
    const started = this.o.clock.now();
    let lag = 0;
    const done = { publications: 0, subscriptions: 0, watchers: 0, registrations: 0 };
    for (;;) {
      const pubs = await this.o.store.publications.takeExpired(this.o.clock.now(), this.o.batchSize);
      if (pubs.length === 0) break;
      lag = Math.max(lag, started - Math.min(...pubs.map((p) => p.expiresAt)));
      done.publications += pubs.length;
      await this.publicationsExpired(pubs);
      if (pubs.length < this.o.batchSize) break;
    }
    for (;;) {
      const subs = await this.o.store.subscriptions.takeExpired(this.o.clock.now(), this.o.batchSize);
      if (subs.length === 0) break;
      lag = Math.max(lag, started - Math.min(...subs.map((s) => s.expiresAt)));
      done.subscriptions += subs.length;
      await this.subscriptionsExpired(subs);
      if (subs.length < this.o.batchSize) break;
    }
    const now = this.o.clock.now();
    done.watchers = await this.o.store.watchers.prune(now - this.o.watcherRetentionSec * 1000, this.o.batchSize);
    done.registrations = await this.o.store.registrations.prune(now, this.o.batchSize);
    this.count(done, this.o.clock.now() - started, lag);
    return done;
  }

  private async publicationsExpired(pubs: Publication[]): Promise<void> {
    const last = new Map<string, Publication>();
    for (const p of pubs) {
      const prev = last.get(p.presentity);
      if (!prev || prev.receivedAt <= p.receivedAt) last.set(p.presentity, p);
    }
    for (const [presentity, p] of last) await this.o.fanout.presentityChanged(presentity, p);
  }

  private async subscriptionsExpired(subs: Subscription[]): Promise<void> {
    // RFC 6665 §4.2.2: "the notifier sends a NOTIFY ... terminated" with reason "timeout" when it expires.
    // The rows are gone already, so the CSeq is the stored one plus one.
    await this.o.sink.notify(subs.map((s) => ({ subscription: s, state: 'terminated' as const, reason: 'timeout' as const, cseq: s.localCseq + 1 })));
    this.counters.notifiesSent += subs.length;
    const now = this.o.clock.now();
    const byPresentity = new Map<string, WatcherRecord[]>();
    for (const s of subs.filter((x) => x.event === 'presence')) {
      const rec: WatcherRecord = {
        presentity: s.presentity, watcher: s.watcher, watcherDisplayName: s.watcherDisplayName, event: s.event,
        subscriptionId: s.id, status: 'terminated', lastEvent: 'timeout', createdAt: s.createdAt, updatedAt: now,
      };
      await this.o.store.watchers.upsert(rec);
      byPresentity.set(s.presentity, [...(byPresentity.get(s.presentity) ?? []), rec]);
    }
    for (const [presentity, recs] of byPresentity) await this.o.fanout.watchersChanged(presentity, recs);
  }

  private count(d: { publications: number; subscriptions: number; watchers: number; registrations: number }, ms: number, lag: number): void {
    const c = this.counters;
    c.sweeps++;
    c.publicationsExpired += d.publications;
    c.subscriptionsExpired += d.subscriptions;
    c.watchersPruned += d.watchers;
    c.registrationsPruned += d.registrations;
    c.lastDurationMs = ms;
    c.lastLagMs = Math.max(0, lag);
    if (d.publications + d.subscriptions > 0) this.o.log.debug({ ...d, ms }, 'sweep');
  }
}
