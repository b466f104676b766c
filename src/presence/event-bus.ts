/**
 * In-process wake-ups for the deliveries of HTTP subscriptions (held long-polls, streams, the
 * webhook sender): the events themselves are in the database (the truth, shared by the nodes);
 * the bus only says "subscription s has events up to seq n". Events another node wrote are noticed
 * by `observe` (the service polls the newest seqs of the subscriptions someone here listens to).
 */
import type { WebEvent } from './model';

export type Wake = (lastSeq: number) => void;

export class EventBus {
  private readonly listeners = new Map<string, Set<Wake>>();
  private readonly all = new Set<(subscriptionId: string, lastSeq: number) => void>();
  /** Newest seq known here per listened subscription. */
  private readonly known = new Map<string, number>();

  /** Wake `fn` when `subscriptionId` has new events; returns the unsubscribe. */
  listen(subscriptionId: string, fn: Wake): () => void {
    let set = this.listeners.get(subscriptionId);
    if (!set) this.listeners.set(subscriptionId, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.listeners.get(subscriptionId) === set) {
        this.listeners.delete(subscriptionId);
        this.known.delete(subscriptionId);
      }
    };
  }

  /** Wake `fn` for every subscription's new events (the webhook sender). */
  listenAll(fn: (subscriptionId: string, lastSeq: number) => void): () => void {
    this.all.add(fn);
    return () => this.all.delete(fn);
  }

  /** Subscriptions someone on this node is waiting on. */
  listened(): string[] {
    return [...this.listeners.keys()];
  }

  /** Events were appended (here). */
  published(events: readonly WebEvent[]): void {
    const newest = new Map<string, number>();
    for (const e of events) newest.set(e.subscriptionId, Math.max(newest.get(e.subscriptionId) ?? 0, e.seq));
    this.observe(newest);
    for (const [id, seq] of newest) for (const fn of [...this.all]) fn(id, seq);
  }

  /** Newest seqs as found in the database: wake the listeners of those that moved on. */
  observe(lastSeqs: ReadonlyMap<string, number>): void {
    for (const [id, seq] of lastSeqs) {
      const set = this.listeners.get(id);
      if (!set || (this.known.get(id) ?? -1) >= seq) continue;
      this.known.set(id, seq);
      for (const fn of [...set]) fn(seq);
    }
  }

  /** Drop every listener (stop). */
  clear(): void {
    this.listeners.clear();
    this.all.clear();
    this.known.clear();
  }
}
