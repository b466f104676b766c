/**
 * The SIP endpoint: transports in, parser, server transactions, the request handler, responses out;
 * and the client side for requests Herald sends (NOTIFY). Nothing a peer sends may throw out of here.
 */
import { cryptoRandom, type Clock, type Random, type Timers } from '../clock';
import type { Logger } from '../log';
import { ClientTransactions, type ClientOutcome } from './client-transactions';
import { parseVia } from './headers';
import { Headers, type SipRequest, type SipResponse } from './message';
import { parseMessage } from './parser';
import { QueueDelay } from './queue-delay';
import { SipParseError } from './headers';
import { buildResponse, errorResponse, responseDestination, type ResponseSpec } from './reply';
import { salvageReply } from './salvage';
import { serialize } from './serializer';
import { ServerTransactions } from './server-transactions';
import { hostForUri, type Destination, type Peer, type Transport, type TransportKind } from './transport';

export interface RequestContext {
  peer: Peer;
}

export interface HandlerResult extends ResponseSpec {
  /** Work to start once the response is on the wire (e.g. the first NOTIFY of a subscription). */
  after?: () => Promise<void>;
}

export type RequestHandler = (req: SipRequest, ctx: RequestContext) => Promise<HandlerResult | null>;

export interface EndpointOptions {
  transports: Transport[];
  clock: Clock;
  timers: Timers;
  /** Branches of Herald's requests (default: the pooled CSPRNG). */
  random?: Random;
  log: Logger;
  maxMessageSize: number;
  t1Ms: number;
  t2Ms: number;
  /** Host written in the Via of requests Herald sends (a listen address may be 0.0.0.0). */
  advertisedHost: string;
  /** Requests being handled at once before new ones are answered 503 (overload bound). */
  maxInFlight: number;
  /** Beyond this many ms of standing delay new requests are answered 503 (queue-delay.ts); 0: off. */
  maxQueueDelayMs?: number;
  /** Told of every final response sent to a request (metrics). */
  onAnswered?: (method: string, status: number) => void;
}

export class SipEndpoint {
  private readonly server: ServerTransactions;
  private readonly client: ClientTransactions;
  private handler: RequestHandler = async () => ({ status: 503, headers: [['Retry-After', '5']] });
  private inFlight = 0;
  private draining = false;
  /** Work started after a response (first NOTIFYs, fan-outs), awaited by drain(). */
  private readonly afterWork = new Set<Promise<void>>();
  /** Requests refused because of the in-flight bound or the delay bound (metrics). */
  overloaded = 0;
  readonly queueDelay: QueueDelay;

  constructor(private readonly o: EndpointOptions) {
    this.queueDelay = new QueueDelay({ boundMs: o.maxQueueDelayMs ?? 0, intervalMs: 100 });
    this.server = new ServerTransactions(o.clock, 64 * o.t1Ms);
    this.client = new ClientTransactions(o.timers, { t1Ms: o.t1Ms, t2Ms: o.t2Ms, t4Ms: 5000 });
  }

  setHandler(h: RequestHandler): void {
    this.handler = h;
  }

  get pendingRequests(): number {
    return this.inFlight;
  }

  async start(): Promise<void> {
    this.server.start();
    for (const t of this.o.transports) {
      await t.start({
        message: (raw, peer) => this.receive(raw, peer, t),
        framingError: (peer, reason, partial, phrase) => this.framingError(peer, reason, partial, t, phrase),
      });
    }
  }

  /**
   * Graceful stop, first half: new requests get 503 + Retry-After; waits (up to `timeoutMs`) for the
   * requests being handled and the NOTIFYs they started. Sockets stay open so replies still go out.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    const end = Date.now() + timeoutMs;
    while ((this.inFlight > 0 || this.afterWork.size > 0) && Date.now() < end) {
      // A timer, never only settled promises: a microtask-only loop would starve the I/O it waits for.
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.inFlight === 0 && this.afterWork.size === 0;
  }

  async stop(): Promise<void> {
    this.client.stop();
    this.server.stop();
    for (const t of this.o.transports) await t.stop();
  }

  transport(kind: TransportKind): Transport | undefined {
    return this.o.transports.find((t) => t.kind === kind);
  }

  private receive(raw: Buffer, peer: Peer, t: Transport): void {
    if (raw.length > this.o.maxMessageSize) {
      // RFC 3261 §21.5.14 / §18.1.1: 513 Message Too Large.
      this.sendSalvaged(raw, peer, t, 513, 'Message Too Large');
      return;
    }
    let msg;
    try {
      msg = parseMessage(raw, { datagram: t.kind === 'udp' });
    } catch (err) {
      const reason = err instanceof SipParseError ? err.reason : 'Malformed message';
      this.o.log.debug({ peer: `${peer.host}:${peer.port}`, reason }, 'malformed SIP message');
      this.sendSalvaged(raw, peer, t, 400, reason);
      return;
    }
    if (msg.kind === 'response') this.receiveResponse(msg);
    else void this.receiveRequest(msg, peer, t);
  }

  private async receiveRequest(req: SipRequest, peer: Peer, t: Transport): Promise<void> {
    const arrival = this.server.arrive(req, t.kind !== 'udp');
    if (arrival.kind === 'retransmission') {
      if (arrival.response) await this.write(t, arrival.response, responseDestination(req, peer));
      return;
    }
    let result: HandlerResult | null;
    if (this.draining || this.inFlight >= this.o.maxInFlight || (req.method !== 'ACK' && this.queueDelay.shed(this.inFlight))) {
      // RFC 3261 §21.5.4: 503 with Retry-After rather than queueing without limit.
      if (req.method === 'ACK') return;
      this.overloaded++;
      result = { status: 503, reason: 'Service Unavailable', headers: [['Retry-After', this.draining ? '5' : '1']] };
      const bytes = serialize(buildResponse(req, peer, result));
      this.server.completed(arrival.key, bytes);
      this.o.onAnswered?.(req.method, 503);
      await this.write(t, bytes, responseDestination(req, peer));
      return;
    }
    this.inFlight++;
    const began = this.o.clock.now();
    try {
      result = await this.handler(req, { peer });
    } catch (err) {
      if (!(err instanceof Error && (err.name === 'PresenceError' || err instanceof SipParseError))) this.o.log.error({ err, method: req.method }, 'request handler failed');
      result = errorResponse(err);
    } finally {
      this.inFlight--;
      const now = this.o.clock.now();
      this.queueDelay.handled(now - began, now);
    }
    if (!result) return; // ACK: no response
    const bytes = serialize(buildResponse(req, peer, result));
    if (result.status >= 200) {
      this.server.completed(arrival.key, bytes);
      this.o.onAnswered?.(req.method, result.status);
    }
    await this.write(t, bytes, responseDestination(req, peer));
    if (result.after) {
      const p = result.after().catch((err: unknown) => this.o.log.error({ err }, 'post-response work failed'));
      this.afterWork.add(p);
      void p.finally(() => this.afterWork.delete(p));
    }
  }

  private receiveResponse(res: SipResponse): void {
    const key = clientKey(res);
    if (!key || !this.client.receive(key, res)) this.o.log.debug({ status: res.status }, 'stray response');
  }

  /** Send a request out of a dialog or in one; the Via (with a fresh branch) is added here. */
  sendRequest(req: SipRequest, to: Destination & { transport: TransportKind }): Promise<ClientOutcome> {
    const t = this.transport(to.transport) ?? this.o.transports[0];
    if (!t) return Promise.resolve({ status: 503, response: null });
    const branch = `z9hG4bK${(this.o.random ?? cryptoRandom).token(9)}`;
    const via = `SIP/2.0/${t.kind.toUpperCase()} ${hostForUri(this.o.advertisedHost)}:${t.local.port};branch=${branch};rport`;
    const headers = new Headers([['Via', via], ...req.headers.entries().filter(([n]) => !/^(via|v)$/i.test(n))]);
    const bytes = serialize({ ...req, headers });
    return this.client.start(`${branch}|${req.method}`, t.kind !== 'udp', () => t.send(bytes, to));
  }

  private framingError(peer: Peer, reason: 'too-large' | 'bad-framing', partial: Buffer, t: Transport, phrase?: string): void {
    if (reason === 'too-large') this.sendSalvaged(partial, peer, t, 513, 'Message Too Large');
    else this.sendSalvaged(partial, peer, t, 400, phrase ?? 'Missing Content-Length');
  }

  private sendSalvaged(raw: Buffer, peer: Peer, t: Transport, status: number, reason: string): void {
    const r = salvageReply(raw, peer, status, reason);
    if (r) void this.write(t, r.bytes, r.to);
  }

  private async write(t: Transport, bytes: Buffer, to: Destination): Promise<void> {
    try {
      await t.send(bytes, to);
    } catch (err) {
      this.o.log.debug({ err, to: `${to.host}:${to.port}` }, 'send failed');
    }
  }
}

function clientKey(res: SipResponse): string | null {
  try {
    const v = parseVia(res.headers.getAll('via')[0] ?? '');
    const method = /\s*\d+\s+(\S+)/.exec(res.headers.get('cseq') ?? '')?.[1];
    return v.branch && method ? `${v.branch}|${method}` : null;
  } catch {
    return null;
  }
}
