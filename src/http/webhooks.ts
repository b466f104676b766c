/**
 * Webhook delivery of HTTP subscriptions' events (issue 9; seed 002: "a Webhook URL that will be
 * called with presence updates"). Events are read from the event log after the subscription's
 * delivered cursor (webhook_seq), POSTed as one batch — seed 002's `[[uri, status], …]`, or a JSON
 * envelope `{subscriptionId, events}` — and signed: `X-Herald-Signature: sha256=<hex HMAC-SHA256 of
 * the body with the subscription's secret>`. A failure (non-2xx, timeout, refused) is retried with
 * a doubling delay (webhook_retry_base, at most 5 minutes); events older than webhook_max_age are
 * dropped. The cursor, the failures and the next attempt are stored, so a restart or another node
 * continues; a lease in the row lets one sender at a time deliver a subscription's batch.
 * Nothing here runs on a SIP request's path: the sender wakes on the bus after the commit.
 */
import { createHmac } from 'node:crypto';
import type { Clock, Timers } from '../clock';
import type { Logger } from '../log';
import type { EventBus } from '../presence/event-bus';
import type { WebEvent, WebSubscription } from '../presence/model';
import type { WebSubscriptionRepository } from '../presence/ports';
import { eventView } from './event-channel';

const MAX_BACKOFF_MS = 5 * 60_000;

export interface WebhookSenderOptions {
  repo: WebSubscriptionRepository;
  bus: EventBus;
  clock: Clock;
  timers: Timers;
  log: Logger;
  timeoutMs: number;
  retryBaseMs: number;
  maxAgeSec: number;
  batchSize: number;
  pollMs: number;
}

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** The body of a batch, or null when the batch format has nothing to say (only expiring/ended events). */
export function webhookBody(sub: WebSubscription, events: readonly WebEvent[]): string | null {
  if (sub.webhookFormat === 'envelope') {
    const self = `/v1/subscriptions/${sub.id}`;
    return JSON.stringify({ subscriptionId: sub.id, events: events.map((e) => eventView(e, self)) });
  }
  // seed 002: POST /some/webhook/callback  [["UID4828382", "online"]]
  const pairs = events.filter((e) => e.type === 'presence').map((e) => [e.uri, e.status]);
  return pairs.length === 0 ? null : JSON.stringify(pairs);
}

export class WebhookSender {
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private readonly aborts = new Set<AbortController>();
  private tick: NodeJS.Timeout | null = null;
  private off: (() => void) | null = null;
  private stopped = true;
  private readonly log: Logger;

  constructor(private readonly o: WebhookSenderOptions) {
    this.log = o.log.child({ component: 'webhooks' });
  }

  start(): void {
    this.stopped = false;
    this.off = this.o.bus.listenAll((id) => this.kick(id));
    this.schedulePoll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.off?.();
    if (this.tick) this.o.timers.clearTimeout(this.tick);
    for (const t of this.retries.values()) this.o.timers.clearTimeout(t);
    this.retries.clear();
    for (const a of this.aborts) a.abort();
    await Promise.all([...this.inflight.values()]);
  }

  /** Deliver what `id` has pending (one delivery per subscription at a time on this node). */
  kick(id: string): void {
    if (this.stopped) return;
    if (this.inflight.has(id)) {
      this.again.add(id);
      return;
    }
    const run = this.deliver(id)
      .catch((err: unknown) => this.log.error({ err, subscription: id }, 'webhook delivery failed'))
      .finally(() => {
        this.inflight.delete(id);
        if (this.again.delete(id)) this.kick(id);
      });
    this.inflight.set(id, run);
  }

  /** Subscriptions due (retries, other nodes' events), one query per poll. */
  private schedulePoll(): void {
    this.tick = this.o.timers.setTimeout(() => {
      this.o.repo.webhooksDue(this.o.clock.now(), 100)
        .then((due) => { for (const s of due) this.kick(s.id); })
        .catch((err: unknown) => this.log.error({ err }, 'webhook poll failed'))
        .finally(() => { if (!this.stopped) this.schedulePoll(); });
    }, this.o.pollMs);
    this.tick.unref?.();
  }

  private async deliver(id: string): Promise<void> {
    const now = this.o.clock.now();
    const sub = await this.o.repo.byId(id);
    if (!sub || sub.webhookUrl === null || sub.lastSeq <= sub.webhookSeq || sub.webhookNextAt > now) return;
    if (!(await this.o.repo.leaseWebhook(id, now, now + this.o.timeoutMs + 5_000))) return;
    let released = false;
    try {
      const events = await this.o.repo.after(id, sub.webhookSeq, this.o.batchSize);
      if (events.length === 0) {
        // Nothing after the cursor although last_seq is ahead: those events left the event window.
        await this.o.repo.webhookDone(id, sub.lastSeq, 0, 0);
        released = true;
        return;
      }
      // Events are in time order: those past webhook_max_age are a prefix, dropped.
      const oldest = now - this.o.maxAgeSec * 1000;
      const fresh = events.filter((e) => e.at >= oldest);
      const dropped = events.length - fresh.length;
      if (dropped > 0) this.log.warn({ subscription: id, dropped }, 'webhook events older than webhook_max_age dropped');
      const droppedTo = dropped > 0 ? (events[dropped - 1] as WebEvent).seq : sub.webhookSeq;
      const last = events[events.length - 1]?.seq ?? sub.webhookSeq;
      const body = webhookBody(sub, fresh);
      if (body === null || (await this.post(sub, body, fresh))) {
        await this.o.repo.webhookDone(id, last, 0, 0);
        released = true;
        // A full batch: more may follow at once (new events wake the sender through the bus).
        if (events.length >= this.o.batchSize) this.again.add(id);
        return;
      }
      if (this.stopped) return;
      const attempts = sub.webhookAttempts + 1;
      const delay = Math.min(this.o.retryBaseMs * 2 ** Math.min(attempts - 1, 20), MAX_BACKOFF_MS);
      await this.o.repo.webhookDone(id, droppedTo, attempts, now + delay);
      released = true;
      this.retryIn(id, delay);
    } finally {
      // Stopped mid-delivery: give the lease back unchanged, the next start (or another node) retries.
      if (!released) await this.o.repo.webhookDone(id, sub.webhookSeq, sub.webhookAttempts, sub.webhookNextAt);
    }
  }

  private retryIn(id: string, ms: number): void {
    const old = this.retries.get(id);
    if (old) this.o.timers.clearTimeout(old);
    const t = this.o.timers.setTimeout(() => {
      this.retries.delete(id);
      this.kick(id);
    }, ms);
    t.unref?.();
    this.retries.set(id, t);
  }

  /** One POST; true on 2xx. Redirects are not followed (they could lead off the allow-list). */
  private async post(sub: WebSubscription, body: string, events: readonly WebEvent[]): Promise<boolean> {
    const abort = new AbortController();
    this.aborts.add(abort);
    const timer = this.o.timers.setTimeout(() => abort.abort(), this.o.timeoutMs);
    const first = events[0]?.seq ?? 0;
    const last = events[events.length - 1]?.seq ?? 0;
    try {
      const res = await fetch(sub.webhookUrl as string, {
        method: 'POST', body, redirect: 'manual', signal: abort.signal,
        headers: {
          'content-type': 'application/json', 'user-agent': 'Herald',
          'x-herald-signature': signature(sub.secret, body),
          'x-herald-subscription': sub.id,
          // The same delivery id on every retry of a batch: a receiver can tell a retry from a new batch.
          'x-herald-delivery': `${sub.id}:${first}-${last}`,
        },
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return true;
      this.log.info({ subscription: sub.id, status: res.status }, 'webhook answered with an error: will retry');
      return false;
    } catch (err) {
      this.log.info({ subscription: sub.id, err: (err as Error).message }, 'webhook not reached: will retry');
      return false;
    } finally {
      this.o.timers.clearTimeout(timer);
      this.aborts.delete(abort);
    }
  }
}
