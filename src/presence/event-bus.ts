/**
 * In-process wake-ups for the deliveries of HTTP subscriptions (held long-polls, streams, the
 * webhook sender): the events themselves are in the database (the truth, shared by the nodes);
 * the bus only says "subscription s has events up to seq n". Events another node wrote are noticed
 * by `observe` (the service polls the newest seqs of the subscriptions someone here listens to).
 */
import type { WebEvent } from './model';

/** `events`: the new events themselves when they were appended on this node (a listener can skip its read). */
export type Wake = (lastSeq: number, events?: readonly WebEvent[]) => void;

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

  /**
   * Events were appended (here). `webhooks`: the subscriptions among them that have a webhook, when
   * known — the webhook sender is woken for those only (else for all).
   */
  published(events: readonly WebEvent[], webhooks?: ReadonlySet<string>): void {
    const bySub = new Map<string, WebEvent[]>();
    for (const e of events) {
      const list = bySub.get(e.subscriptionId);
      if (list) list.push(e);
      else bySub.set(e.subscriptionId, [e]);
    }
    for (const [id, list] of bySub) {
      list.sort((a, b) => a.seq - b.seq);
      const seq = (list[list.length - 1] as WebEvent).seq;
      this.wake(id, seq, list);
      if (webhooks && !webhooks.has(id)) continue;
      for (const fn of [...this.all]) fn(id, seq);
    }
  }

  /** Newest seqs as found in the database: wake the listeners of those that moved on. */
  observe(lastSeqs: ReadonlyMap<string, number>): void {
    for (const [id, seq] of lastSeqs) this.wake(id, seq);
  }

  private wake(id: string, seq: number, events?: readonly WebEvent[]): void {
    const set = this.listeners.get(id);
    if (!set || (this.known.get(id) ?? -1) >= seq) return;
    this.known.set(id, seq);
    for (const fn of [...set]) fn(seq, events);
  }

  /** Drop every listener (stop). */
  clear(): void {
    this.listeners.clear();
    this.all.clear();
    this.known.clear();
  }
}
