/**
 * A raw SIP peer for conformance tests: real UDP or TCP sockets on 127.0.0.1, requests built from
 * header lists (nothing hidden), every received message kept. Incoming requests (NOTIFY) are
 * answered 200 automatically unless `autoAnswer` is turned off or a status is set per method.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket as TcpSocket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { parseMessage } from '../../src/sip/parser';
import { serialize } from '../../src/sip/serializer';
import { StreamFramer } from '../../src/sip/framer';
import { Headers, type SipMessage, type SipRequest, type SipResponse } from '../../src/sip/message';

export type HeaderList = Array<[string, string]>;

export interface Target {
  host: string;
  port: number;
}

interface Waiter {
  match: (m: SipMessage) => boolean;
  resolve: (m: SipMessage) => void;
}

export class SipTestClient {
  readonly received: SipMessage[] = [];
  /** Raw bytes of every message received, in order (to assert the wire text). */
  readonly raw: Buffer[] = [];
  autoAnswer = true;
  /** Status to answer incoming requests with, per method (default 200). */
  answerStatus: Record<string, number> = {};
  private waiters: Waiter[] = [];
  private cseq = 1;
  local: Target = { host: '127.0.0.1', port: 0 };

  private constructor(
    readonly transport: 'udp' | 'tcp',
    readonly target: Target,
    private readonly udp: UdpSocket | null,
    private readonly tcp: TcpSocket | null,
  ) {}

  static async open(transport: 'udp' | 'tcp', target: Target): Promise<SipTestClient> {
    if (transport === 'udp') {
      const s = createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      const c = new SipTestClient('udp', target, s, null);
      c.local = { host: '127.0.0.1', port: s.address().port };
      s.on('message', (m) => c.onBytes(m));
      return c;
    }
    const sock = connect({ host: target.host, port: target.port });
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const c = new SipTestClient('tcp', target, null, sock);
    c.local = { host: '127.0.0.1', port: sock.localPort ?? 0 };
    const framer = new StreamFramer(1024 * 1024);
    sock.on('data', (chunk) => {
      for (const m of framer.push(chunk)) c.onBytes(m);
    });
    sock.on('error', () => {});
    return c;
  }

  /** The Contact URI of this client (where Herald should send NOTIFYs). */
  contact(user = 'watcher'): string {
    return `sip:${user}@${this.local.host}:${this.local.port}${this.transport === 'tcp' ? ';transport=tcp' : ''}`;
  }

  private onBytes(buf: Buffer): void {
    let m: SipMessage;
    try {
      m = parseMessage(buf, { datagram: this.transport === 'udp' });
    } catch {
      return;
    }
    this.raw.push(buf);
    this.received.push(m);
    if (m.kind === 'request' && this.autoAnswer && m.method !== 'ACK') {
      this.answer(m, this.answerStatus[m.method] ?? 200);
    }
    const w = this.waiters.find((x) => x.match(m));
    if (w) {
      this.waiters = this.waiters.filter((x) => x !== w);
      w.resolve(m);
    }
  }

  sendRaw(data: string | Buffer): void {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (this.udp) this.udp.send(buf, this.target.port, this.target.host);
    else this.tcp?.write(buf);
  }

  /** Wait for a message matching `match` that arrives from now on, or one already received and not yet taken when `includePast`. */
  waitFor(match: (m: SipMessage) => boolean, timeoutMs = 3000, includePast = false): Promise<SipMessage> {
    if (includePast) {
      const past = this.received.find(match);
      if (past) return Promise.resolve(past);
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = { match, resolve: (m) => { clearTimeout(t); resolve(m); } };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no matching SIP message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Wait for an incoming request of `method` (e.g. NOTIFY), optionally matching more. */
  async waitForRequest(method: string, match: (r: SipRequest) => boolean = () => true, timeoutMs = 3000, includePast = false): Promise<SipRequest> {
    return (await this.waitFor((m) => m.kind === 'request' && m.method === method && match(m), timeoutMs, includePast)) as SipRequest;
  }

  requests(method: string): SipRequest[] {
    return this.received.filter((m): m is SipRequest => m.kind === 'request' && m.method === method);
  }

  /** Requests of `method` without retransmissions (one per top-Via branch). */
  uniqueRequests(method: string): SipRequest[] {
    const seen = new Set<string>();
    return this.requests(method).filter((r) => {
      const branch = /;\s*branch=([^;\s]+)/i.exec(r.headers.getAll('via')[0] ?? '')?.[1] ?? '';
      if (seen.has(branch)) return false;
      seen.add(branch);
      return true;
    });
  }

  /**
   * Send a request and resolve with its final response. Via (fresh branch, rport), Max-Forwards,
   * Call-ID, CSeq and a From tag are added when `headers` lacks them; Content-Length always.
   */
  async request(method: string, uri: string, headers: HeaderList, body = '', timeoutMs = 5000): Promise<SipResponse> {
    const branch = `z9hG4bK${randomBytes(8).toString('hex')}`;
    const has = (n: string): boolean => headers.some(([k]) => k.toLowerCase() === n.toLowerCase());
    const h: HeaderList = [['Via', `SIP/2.0/${this.transport.toUpperCase()} ${this.local.host}:${this.local.port};branch=${branch};rport`]];
    if (!has('max-forwards')) h.push(['Max-Forwards', '70']);
    if (!has('call-id')) h.push(['Call-ID', `${randomBytes(6).toString('hex')}@test`]);
    if (!has('cseq')) h.push(['CSeq', `${this.cseq++} ${method}`]);
    h.push(...headers);
    if (!has('from')) h.push(['From', `<sip:tester@127.0.0.1>;tag=${randomBytes(4).toString('hex')}`]);
    if (!has('to')) h.push(['To', `<${uri}>`]);
    const msg: SipRequest = { kind: 'request', method, uri, headers: new Headers(h), body: Buffer.from(body, 'utf8') };
    const done = this.waitFor((m) => m.kind === 'response' && m.status >= 200 && (m.headers.get('via') ?? '').includes(branch), timeoutMs);
    this.sendRaw(serialize(msg));
    return (await done) as SipResponse;
  }

  answer(req: SipRequest, status: number, extra: HeaderList = []): void {
    const h: HeaderList = req.headers.getAll('via').map((v) => ['Via', v] as [string, string]);
    h.push(['From', req.headers.get('from') ?? ''], ['To', req.headers.get('to') ?? ''], ['Call-ID', req.headers.get('call-id') ?? ''], ['CSeq', req.headers.get('cseq') ?? ''], ...extra);
    const res: SipResponse = { kind: 'response', status, reason: status === 200 ? 'OK' : 'Error', headers: new Headers(h), body: Buffer.alloc(0) };
    // RFC 3261 §18.2.2: over UDP the response goes to the sent-by of the top Via (another Herald
    // node sharing the database may have sent the request).
    const sentBy = /^SIP\/2\.0\/UDP\s+([^;:\s]+):(\d+)/i.exec(req.headers.getAll('via')[0] ?? '');
    if (this.udp && sentBy) this.udp.send(serialize(res), Number(sentBy[2]), sentBy[1]);
    else this.sendRaw(serialize(res));
  }

  close(): Promise<void> {
    for (const w of this.waiters) w.resolve = () => {};
    this.waiters = [];
    if (this.udp) return new Promise((r) => this.udp?.close(() => r()));
    this.tcp?.destroy();
    return Promise.resolve();
  }
}

/** A tag from a From/To header value. */
export function tagOf(value: string | undefined): string | null {
  return /;\s*tag=([^;\s>]+)/i.exec(value ?? '')?.[1] ?? null;
}

/** A minimal PIDF document with one tuple. */
export function pidf(entity: string, basic: 'open' | 'closed', note?: string, tupleId = 't1'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${entity}">\n  <tuple id="${tupleId}"><status><basic>${basic}</basic></status>${note ? `<note>${note}</note>` : ''}</tuple>\n</presence>\n`;
}
