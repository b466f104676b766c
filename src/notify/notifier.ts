/**
 * The notifier's NOTIFY builder and delivery (RFC 6665 §4.2.2, RFC 3261 §12.2.1.1): in-dialog
 * requests to the watcher's remote target along the route set, CSeq bumped atomically in the
 * database, sent on the TCP connection the SUBSCRIBE came in on while it is open.
 * Failures: 481 or a timeout (408) end the subscription at once; 5xx after notify_max_failures
 * in a row (RFC 6665 §4.2.2: "a NOTIFY ... failure response ... the notifier MUST remove the subscription").
 */
import type { Clock } from '../clock';
import type { Logger } from '../log';
import type { Subscription } from '../presence/model';
import type { Notification, NotificationSink, Store } from '../presence/ports';
import type { SipEndpoint } from '../sip/endpoint';
import { Headers, type SipRequest } from '../sip/message';
import { parseUri } from '../sip/uri';
import type { TransportKind } from '../sip/transport';

export interface NotifierOptions {
  endpoint: SipEndpoint;
  store: Store;
  log: Logger;
  clock: Clock;
  /** Contact of every NOTIFY (server_address). */
  contact: (transport: TransportKind) => string;
  maxFailures: number;
}

export type FailureHandler = (sub: Subscription, status: number) => Promise<void>;

export class SipNotifier implements NotificationSink {
  private readonly failures = new Map<string, number>();
  private onFailure: FailureHandler = async () => {};
  private readonly inFlight = new Set<Promise<void>>();
  sent = 0;
  failed = 0;

  constructor(private readonly o: NotifierOptions) {}

  /** Wired by app.ts: the domain ends subscriptions whose watcher is gone. */
  setFailureHandler(h: FailureHandler): void {
    this.onFailure = h;
  }

  async notify(list: Notification[]): Promise<void> {
    // The CSeqs of a whole fan-out are bumped in one statement; rows the sweeper already removed carry theirs.
    const bumped = await this.o.store.subscriptions.nextCseqs(list.filter((n) => n.cseq === undefined).map((n) => n.subscription.id));
    for (const n of list) {
      const cseq = n.cseq ?? bumped.get(n.subscription.id);
      if (cseq === undefined) continue; // the subscription is gone
      const p = this.deliver(n, cseq);
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
  }

  /** Resolves when every NOTIFY handed over so far has its outcome (used by graceful stop and tests). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async deliver(n: Notification, cseq: number): Promise<void> {
    const s = n.subscription;
    const outcome = await this.o.endpoint.sendRequest(buildNotify(n, cseq, this.o.contact(s.via.transport), this.o.clock.now()), destination(s, this.o.endpoint));
    this.sent++;
    if (outcome.status < 300) {
      this.failures.delete(s.id);
      return;
    }
    this.failed++;
    if (n.state === 'terminated') {
      // linphone answers 481 to a NOTIFY that follows its un-SUBSCRIBE: expected, not worth more than debug.
      this.o.log.debug({ subscription: s.id, status: outcome.status }, 'final NOTIFY not accepted');
      return;
    }
    const count = (this.failures.get(s.id) ?? 0) + 1;
    // RFC 6665 §4.2.2: "If the NOTIFY request fails due to an error response ... the notifier MUST remove the
    // corresponding subscription"; RFC 3265 §3.2.2: unless it has Retry-After. 5xx (and a send failure, 503) is
    // taken as transient and tolerated notify_max_failures times in a row; 481, 408 and other 3xx/4xx/6xx end it.
    const transient = (outcome.status >= 500 && outcome.status < 600) || (outcome.response?.headers.has('retry-after') ?? false);
    const fatal = !transient || count >= this.o.maxFailures;
    if (!fatal) {
      this.failures.set(s.id, count);
      return;
    }
    this.failures.delete(s.id);
    this.o.log.info({ subscription: s.id, watcher: s.watcher, status: outcome.status }, 'NOTIFY failed, subscription removed');
    await this.onFailure(s, outcome.status).catch((err: unknown) => this.o.log.error({ err }, 'removing a failed subscription'));
  }
}

export function buildNotify(n: Notification, cseq: number, contact: string, now: number): SipRequest {
  const s = n.subscription;
  const h: Array<[string, string]> = [];
  // RFC 3261 §12.2.1.1: Route = the route set; To = remote URI + remote tag; From = local URI + local tag.
  for (const r of s.routeSet) h.push(['Route', r.startsWith('<') ? r : `<${r}>`]);
  h.push(['Max-Forwards', '70']);
  h.push(['To', `<${s.remoteUri}>;tag=${s.remoteTag}`]);
  h.push(['From', `<${s.localUri}>;tag=${s.localTag}`]);
  h.push(['Call-ID', s.callId]);
  h.push(['CSeq', `${cseq} NOTIFY`]);
  // RFC 6665 §8.2.1: the id parameter of the SUBSCRIBE's Event is echoed.
  h.push(['Event', s.eventId ? `${s.event};id=${s.eventId}` : s.event]);
  h.push(['Subscription-State', subscriptionState(n, now)]);
  h.push(['Contact', `<${contact}>`]);
  if (n.body) h.push(['Content-Type', n.body.contentType]);
  return { kind: 'request' as const, method: 'NOTIFY', uri: s.remoteTarget, headers: new Headers(h), body: Buffer.from(n.body?.content ?? '', 'utf8') };
}

/** RFC 6665 §4.1.3 Subscription-State: active/pending with expires, terminated with a reason. */
function subscriptionState(n: Notification, now: number): string {
  if (n.state === 'terminated') return `terminated;reason=${n.reason ?? 'noresource'}`;
  const left = Math.max(0, Math.round((n.subscription.expiresAt - now) / 1000));
  return `${n.state};expires=${left}`;
}

/**
 * Where a NOTIFY goes: the first Route when there is a route set (loose routing), else the remote
 * target; over TCP on the SUBSCRIBE's connection while it is open.
 */
function destination(s: Subscription, endpoint: SipEndpoint): { host: string; port: number; transport: TransportKind; connectionId: string | null } {
  const next = s.routeSet[0]?.replace(/^<|>.*$/g, '') ?? s.remoteTarget;
  let host = s.via.host;
  let port = s.via.port;
  let transport: TransportKind = s.via.transport;
  try {
    const u = parseUri(next);
    host = u.host;
    port = u.port ?? (u.scheme === 'sips' ? 5061 : 5060);
    const t = (u.params.get('transport') ?? (s.routeSet.length ? 'udp' : s.via.transport)).toLowerCase();
    transport = t === 'tcp' ? 'tcp' : 'udp';
  } catch {
    /* fall back to where the SUBSCRIBE came from */
  }
  const tcp = endpoint.transport('tcp');
  if (s.via.transport === 'tcp' && s.via.connectionId && tcp?.isOpen(s.via.connectionId)) {
    return { host: s.via.host, port: s.via.port, transport: 'tcp', connectionId: s.via.connectionId };
  }
  return { host, port, transport, connectionId: null };
}
