/**
 * Delivery of HTTP subscriptions' events to clients that come for them (issue 9):
 *  - the event channel (seed 003): "start the event channel by sending a pending-GET request on the
 *    events resource" — answered at once when events follow the cursor, else held until one comes or
 *    long_poll_timeout passes; the answer links `next` (the cursor to send back);
 *  - streams: Server-Sent Events (`Last-Event-ID` resumes; the id is the event's seq) and, with
 *    Accept: application/x-ndjson, seed 002's presence.json: "a stream of presence updates" of
 *    `[uri, status]` lines, which "the Presence server will hold ... open indefinitely".
 * Heartbeats keep idle streams open; a client that lags too far behind is cut off (it resumes with
 * its cursor). Held requests and streams wake on the in-process bus (events of other nodes are
 * noticed by the service's poll). close() ends them all, for the graceful stop.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Timers } from '../clock';
import type { Logger } from '../log';
import { splitAor } from '../presence/aor';
import type { EventBus } from '../presence/event-bus';
import type { WebEvent, WebSubscription } from '../presence/model';
import type { WebSubscriptionService } from '../presence/web-subscriptions';

/** A stream whose unsent output passes this is closed: seed 002's "excessive client-side lag". */
const MAX_BUFFERED_BYTES = 1024 * 1024;

export interface EventChannelOptions {
  service: WebSubscriptionService;
  bus: EventBus;
  timers: Timers;
  log: Logger;
  longPollMs: number;
  heartbeatMs: number;
  /** event_batch_size: what one read returns at most. */
  batchSize: number;
}

export type StreamFormat = 'sse' | 'ndjson';

export function eventView(e: WebEvent, selfHref: string): Record<string, unknown> {
  const base = { seq: e.seq, type: e.type, at: new Date(e.at).toISOString() };
  if (e.type !== 'presence' || e.uri === null) return { ...base, _links: { subscription: { href: selfHref } } };
  const { user, domain } = splitAor(e.uri);
  return { ...base, uri: e.uri, status: e.status, _links: { presence: { href: `/v1/presence/${domain}/${encodeURIComponent(user)}` } } };
}

export class EventChannel {
  private readonly closers = new Set<() => void>();
  private closing = false;

  constructor(private readonly o: EventChannelOptions) {}

  /** The pending-GET: events after `ack` now, or after a wait of at most `timeoutMs`. */
  async poll(sub: WebSubscription, ack: number | undefined, timeoutMs: number, reply: FastifyReply): Promise<readonly WebEvent[]> {
    let woken = false;
    let wake = (): void => { woken = true; };
    let pushed: readonly WebEvent[] | undefined;
    const off = this.o.bus.listen(sub.id, (_seq, events) => {
      pushed ??= events;
      wake();
    });
    let expired = false;
    const t = this.o.timers.setTimeout(() => { expired = true; wake(); }, Math.min(timeoutMs, this.o.longPollMs));
    const gone = (): void => wake();
    reply.raw.on('close', gone);
    this.closers.add(gone);
    try {
      // Listening before the read: an event appended in between is not missed.
      const first = await this.o.service.read(sub, ack);
      const cursor = ack ?? sub.lastSeq;
      let events: readonly WebEvent[] = first;
      // A wake-up may find nothing new (another node's poll, a coalesced change): hold on until the bound.
      for (let i = 0; i < 10_000; i++) {
        if (events.length > 0 || sub.state === 'ended' || this.closing || expired || reply.raw.destroyed) return events;
        if (!woken) await new Promise<void>((resolve) => { wake = () => { woken = true; resolve(); }; });
        woken = false;
        const given = pushed;
        pushed = undefined;
        // The events came with the wake-up and follow the cursor: no read needed.
        events = given && given[0]?.seq === cursor + 1 ? given : await this.o.service.after(sub.id, cursor);
      }
      return events;
    } finally {
      off();
      this.o.timers.clearTimeout(t);
      reply.raw.off('close', gone);
      this.closers.delete(gone);
    }
  }

  /** A held-open stream from `first` (already read, so a bad cursor was answered as JSON) onwards. */
  stream(req: FastifyRequest, reply: FastifyReply, sub: WebSubscription, first: WebEvent[], cursor: number, format: StreamFormat, selfHref: string): void {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': format === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no',
    });
    if (format === 'sse') res.write('retry: 2000\n\n');
    let position = cursor;
    let busy = false;
    let again = false;
    let closed = false;
    const log = this.o.log.child({ subscription: sub.id });
    const close = (): void => {
      if (closed) return;
      closed = true;
      off();
      this.o.timers.clearTimeout(heartbeat);
      this.closers.delete(close);
      res.end();
    };
    /** Write events; false once the subscription's `ended` event is written (the stream then ends). */
    const write = (events: readonly WebEvent[]): boolean => {
      for (const e of events) {
        position = e.seq;
        if (format === 'sse') res.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(eventView(e, selfHref))}\n\n`);
        else if (e.type === 'presence') res.write(`${JSON.stringify([e.uri, e.status])}\n`);
        if (e.type === 'ended') return false;
      }
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        log.warn('event stream client lags too far behind: closed (it resumes with its cursor)');
        return false;
      }
      return true;
    };
    const pump = async (): Promise<void> => {
      if (busy) { again = true; return; }
      busy = true;
      try {
        do {
          again = false;
          const events = await this.o.service.after(sub.id, position);
          if (closed) return;
          if (!write(events)) return close();
          // A full batch: there may be more behind it.
          if (events.length >= this.o.batchSize) again = true;
        } while (again && !closed);
      } finally {
        busy = false;
      }
    };
    const kick = (): void => {
      pump().catch((err: unknown) => {
        log.error({ err }, 'event stream failed');
        close();
      });
    };
    // Events appended on this node come with the wake-up: written at once when they follow the
    // position (no read per stream per change); otherwise (a gap, a read in progress) read them.
    const off = this.o.bus.listen(sub.id, (_seq, events) => {
      if (closed) return;
      if (!busy && events && events[0]?.seq === position + 1) {
        if (!write(events)) close();
        return;
      }
      kick();
    });
    const beat = (): NodeJS.Timeout => this.o.timers.setTimeout(() => {
      if (closed) return;
      res.write(format === 'sse' ? ': heartbeat\n\n' : '\n');
      heartbeat = beat();
    }, this.o.heartbeatMs);
    let heartbeat = beat();
    this.closers.add(close);
    res.on('close', close);
    req.raw.on('error', close);
    if (!write(first) || sub.state === 'ended') return close();
    // Events may have come between the first read and listening.
    kick();
  }

  /** Graceful stop: answer every held request (empty batch) and end every stream. */
  close(): void {
    this.closing = true;
    for (const c of [...this.closers]) c();
  }
}
