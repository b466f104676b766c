/**
 * RFC 3261 §17 non-INVITE transactions over real loopback UDP and TCP sockets: the server side
 * absorbs retransmissions and replays its response (a request is processed once); the client side
 * (Herald's NOTIFY) retransmits over UDP with Timer E, gives up with Timer F (408), also after a 1xx.
 *
 * The exact Timer E schedule is checked with hand-driven timers (no sleeping, no timing asserts);
 * the end-to-end checks run a real Herald with sip_t1 = 50 ms, sip_t2 = 400 ms (Timer F = 3.2 s).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Timers } from '../../src/clock';
import { systemClock } from '../../src/clock';
import { silentLogger } from '../../src/log';
import { SipEndpoint } from '../../src/sip/endpoint';
import { StreamFramer } from '../../src/sip/framer';
import { parseVia } from '../../src/sip/headers';
import { Headers, type SipMessage, type SipRequest, type SipResponse } from '../../src/sip/message';
import { parseMessage } from '../../src/sip/parser';
import { serialize } from '../../src/sip/serializer';
import { TcpTransport } from '../../src/sip/tcp-transport';
import type { Destination, Transport, TransportEvents } from '../../src/sip/transport';
import { UdpTransport } from '../../src/sip/udp-transport';
import { startHerald, type RunningHerald } from '../support/herald';
import { SipTestClient, pidf, tagOf } from '../support/sip-client';

type Kind = 'udp' | 'tcp';
const CRLF = '\r\n';

function branch(): string {
  return `z9hG4bK${randomBytes(8).toString('hex')}`;
}

const byBranch = (br: string) => (m: SipMessage): boolean => m.kind === 'response' && (m.headers.get('via') ?? '').includes(br);

/** Poll `check` until it returns true (generous: the machine is shared). */
async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each<Kind>(['udp', 'tcp'])('RFC 3261 §17.2.2 non-INVITE server transactions over %s', (kind) => {
  let h: RunningHerald;
  let c: SipTestClient;
  beforeAll(async () => {
    h = await startHerald();
    c = await SipTestClient.open(kind, h[kind]);
  });
  afterAll(async () => {
    await c.close();
    await h.stop();
  });

  function publish(aor: string, br: string, callId: string): string {
    const body = pidf(aor, 'open', `retransmitted over ${kind}`);
    return [
      `PUBLISH ${aor} SIP/2.0`, `Via: SIP/2.0/${kind.toUpperCase()} 127.0.0.1:${c.local.port};branch=${br};rport`, 'Max-Forwards: 70',
      `From: <${aor}>;tag=pub1`, `To: <${aor}>`, `Call-ID: ${callId}`, 'CSeq: 1 PUBLISH', 'Event: presence', 'Expires: 60',
      'Content-Type: application/pidf+xml', `Content-Length: ${Buffer.byteLength(body)}`, '', body,
    ].join(CRLF);
  }

  function responsesTo(br: string): SipResponse[] {
    return c.received.filter(byBranch(br)) as SipResponse[];
  }

  function rawOf(m: SipMessage): string {
    return (c.raw[c.received.indexOf(m)] as Buffer).toString('latin1');
  }

  if (kind === 'udp') {
    it('RFC 3261 §17.2.2: a PUBLISH retransmitted 3 times (same branch) is processed once and every copy gets the same response', async () => {
      const aor = 'sip:retrans-completed@127.0.0.1';
      const br = branch();
      const text = publish(aor, br, `${br}@test`);
      for (let n = 1; n <= 4; n++) {
        const next = c.waitFor(byBranch(br), 5000);
        c.sendRaw(text);
        await next;
        expect(responsesTo(br)).toHaveLength(n);
      }
      const all = responsesTo(br);
      expect(all.every((r) => r.status === 200)).toBe(true);
      const etags = new Set(all.map((r) => r.headers.get('sip-etag')));
      expect(etags.size).toBe(1);
      expect([...etags][0]).toBeTruthy();
      // The replay is the very response sent first (same To tag, same bytes).
      expect(new Set(all.map((r) => rawOf(r))).size).toBe(1);
      const live = await h.app.store.publications.live(aor, 'presence', Date.now());
      expect(live).toHaveLength(1);
      expect(live[0]?.etag).toBe([...etags][0]);
    });

    it('RFC 3261 §17.2.2: copies that arrive while the request is still being processed (Trying) are absorbed', async () => {
      const aor = 'sip:retrans-trying@127.0.0.1';
      const br = branch();
      const text = publish(aor, br, `${br}@test`);
      const first = c.waitFor(byBranch(br), 5000);
      for (let n = 0; n < 4; n++) c.sendRaw(text);
      const res = (await first) as SipResponse;
      expect(res.status).toBe(200);
      // A later retransmission (the client's Timer E) gets the same final response again.
      const again = c.waitFor(byBranch(br), 5000);
      c.sendRaw(text);
      expect(((await again) as SipResponse).headers.get('sip-etag')).toBe(res.headers.get('sip-etag'));
      const live = await h.app.store.publications.live(aor, 'presence', Date.now());
      expect(live).toHaveLength(1);
    });

    it('RFC 3261 §17.2.3: a request with the same branch but another method is a different transaction', async () => {
      const br = branch();
      const opts = [
        `OPTIONS sip:herald@127.0.0.1 SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${c.local.port};branch=${br};rport`, 'Max-Forwards: 70',
        'From: <sip:t@127.0.0.1>;tag=x', 'To: <sip:herald@127.0.0.1>', `Call-ID: ${br}@o`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '',
      ].join(CRLF);
      const a = c.waitFor(byBranch(br), 5000);
      c.sendRaw(opts);
      expect(((await a) as SipResponse).status).toBe(200);
      const b = c.waitFor((m) => byBranch(br)(m) && (m.headers.get('cseq') ?? '').endsWith('INFO'), 5000);
      c.sendRaw(opts.replace(/OPTIONS/g, 'INFO'));
      expect(((await b) as SipResponse).status).toBe(405);
    });
  } else {
    it('RFC 3261 §17.2.2 / §18.3: a PUBLISH over TCP (a reliable transport: no retransmissions) gets exactly one response and one publication', async () => {
      const aor = 'sip:once-tcp@127.0.0.1';
      const br = branch();
      const res = c.waitFor(byBranch(br), 5000);
      c.sendRaw(publish(aor, br, `${br}@test`));
      expect(((await res) as SipResponse).status).toBe(200);
      // Anything Herald sent for the PUBLISH precedes the answer to a later OPTIONS on the same connection.
      const after = await c.request('OPTIONS', 'sip:herald@127.0.0.1', []);
      expect(after.status).toBe(200);
      expect(responsesTo(br)).toHaveLength(1);
      expect(await h.app.store.publications.live(aor, 'presence', Date.now())).toHaveLength(1);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The client transaction (Herald sends NOTIFY), with hand-driven timers: the exact Timer E schedule.

/** Timers a test advances by hand; `now` is the fake time at which each callback runs. */
class ManualTimers implements Timers {
  now = 0;
  private queue: Array<{ at: number; fn: () => void; live: boolean }> = [];

  setTimeout(fn: () => void, ms: number): NodeJS.Timeout {
    const t = { at: this.now + ms, fn, live: true };
    this.queue.push(t);
    return t as unknown as NodeJS.Timeout;
  }

  clearTimeout(t: NodeJS.Timeout): void {
    (t as unknown as { live: boolean }).live = false;
  }

  /** Run every timer due within `ms`, in time order (callbacks may arm more). */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = this.queue.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.live = false;
      this.now = due.at;
      due.fn();
    }
    this.now = end;
    this.queue = this.queue.filter((t) => t.live);
  }
}

/** A real transport that records the fake time of every send and every message received. */
class RecordingTransport implements Transport {
  readonly sentAt: number[] = [];
  readonly arrived: SipMessage[] = [];
  constructor(private readonly inner: Transport, private readonly timers: ManualTimers) {}
  get kind() { return this.inner.kind; }
  get local() { return this.inner.local; }
  start(events: TransportEvents): Promise<void> {
    return this.inner.start({
      message: (raw, peer) => {
        try {
          this.arrived.push(parseMessage(raw, { datagram: this.kind === 'udp' }));
        } catch { /* the endpoint answers what it can't parse */ }
        events.message(raw, peer);
      },
      framingError: (peer, reason, partial, phrase) => events.framingError(peer, reason, partial, phrase),
    });
  }
  send(data: Buffer, to: Destination): Promise<void> {
    this.sentAt.push(this.timers.now);
    return this.inner.send(data, to);
  }
  isOpen(id: string): boolean { return this.inner.isOpen(id); }
  stop(): Promise<void> { return this.inner.stop(); }
}

/** A watcher on a real socket: keeps every NOTIFY, answers each with `answer` (or nothing when null). */
class Watcher {
  readonly notifies: SipRequest[] = [];
  answer: number | null = null;
  private constructor(readonly kind: Kind, readonly port: number, private readonly udp: UdpSocket | null, private readonly tcp: Server | null, private readonly conns: TcpSocket[]) {}

  static async open(kind: Kind): Promise<Watcher> {
    if (kind === 'udp') {
      const s = createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      const w = new Watcher('udp', s.address().port, s, null, []);
      s.on('message', (m, rinfo) => w.onMessage(m, (b) => s.send(b, rinfo.port, rinfo.address)));
      return w;
    }
    const conns: TcpSocket[] = [];
    let w: Watcher | null = null;
    const server = createServer((sock) => {
      conns.push(sock);
      const framer = new StreamFramer(65_536);
      sock.on('data', (d) => { for (const m of framer.push(d)) w?.onMessage(m, (b) => sock.write(b)); });
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    w = new Watcher('tcp', (server.address() as { port: number }).port, null, server, conns);
    return w;
  }

  private onMessage(raw: Buffer, reply: (b: Buffer) => void): void {
    const m = parseMessage(raw, { datagram: this.kind === 'udp' });
    if (m.kind !== 'request') return;
    this.notifies.push(m);
    if (this.answer === null) return;
    const h: Array<[string, string]> = m.headers.getAll('via').map((v) => ['Via', v]);
    h.push(['From', m.headers.get('from') ?? ''], ['To', m.headers.get('to') ?? ''], ['Call-ID', m.headers.get('call-id') ?? ''], ['CSeq', m.headers.get('cseq') ?? '']);
    reply(serialize({ kind: 'response', status: this.answer, reason: this.answer < 200 ? 'Trying' : 'OK', headers: new Headers(h), body: Buffer.alloc(0) }));
  }

  close(): Promise<void> {
    if (this.udp) return new Promise((r) => this.udp?.close(() => r()));
    for (const c of this.conns) c.destroy();
    return new Promise((r) => this.tcp?.close(() => r()));
  }
}

function notifyTo(w: Watcher): SipRequest {
  const h = new Headers([
    ['Max-Forwards', '70'], ['To', '<sip:w@127.0.0.1>;tag=w1'], ['From', '<sip:p@127.0.0.1>;tag=p1'], ['Call-ID', `${randomBytes(6).toString('hex')}@t`],
    ['CSeq', '1 NOTIFY'], ['Event', 'presence'], ['Subscription-State', 'active;expires=60'], ['Contact', '<sip:herald@127.0.0.1>'],
  ]);
  return { kind: 'request', method: 'NOTIFY', uri: `sip:w@127.0.0.1:${w.port}${w.kind === 'tcp' ? ';transport=tcp' : ''}`, headers: h, body: Buffer.alloc(0) };
}

describe.each<Kind>(['udp', 'tcp'])('RFC 3261 §17.1.2 non-INVITE client transaction (NOTIFY) over %s, timers driven by hand', (kind) => {
  const T1 = 50;
  const T2 = 400;
  let timers: ManualTimers;
  let transport: RecordingTransport;
  let endpoint: SipEndpoint;
  let watcher: Watcher;
  beforeEach(async () => {
    timers = new ManualTimers();
    const inner = kind === 'udp' ? new UdpTransport('127.0.0.1', 0, 1 << 20, silentLogger) : new TcpTransport('127.0.0.1', 0, 65_535, 60_000, silentLogger);
    transport = new RecordingTransport(inner, timers);
    endpoint = new SipEndpoint({ transports: [transport], clock: systemClock, timers, log: silentLogger, maxMessageSize: 65_535, t1Ms: T1, t2Ms: T2, advertisedHost: '127.0.0.1', maxInFlight: 1000 });
    await endpoint.start();
    watcher = await Watcher.open(kind);
  });
  afterEach(async () => {
    await endpoint.stop();
    await watcher.close();
  });

  // Transmissions at 0, then Timer E: T1, 2T1, 4T1, then T2 each time, until Timer F (64*T1 = 3200).
  const udpSchedule = [0, 50, 150, 350, 750, 1150, 1550, 1950, 2350, 2750, 3150];

  it(kind === 'udp'
    ? 'RFC 3261 §17.1.2.2: retransmits with Timer E doubling from T1 up to T2, then reports 408 when Timer F (64*T1) fires'
    : 'RFC 3261 §17.1.2.2: over TCP sends once (no Timer E on a reliable transport) and reports 408 when Timer F (64*T1) fires', async () => {
    watcher.answer = null;
    const outcome = endpoint.sendRequest(notifyTo(watcher), { host: '127.0.0.1', port: watcher.port, transport: kind });
    timers.advance(64 * T1 - 1);
    const expected = kind === 'udp' ? udpSchedule : [0];
    expect(transport.sentAt).toEqual(expected);
    let settled = false;
    void outcome.then(() => { settled = true; });
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    timers.advance(1);
    expect(await outcome).toEqual({ status: 408, response: null });
    // No more transmissions after the transaction ended, however long we wait.
    timers.advance(60_000);
    expect(transport.sentAt).toHaveLength(expected.length);
    // Every transmission reached the watcher, all the same request (same branch).
    await eventually(() => watcher.notifies.length === expected.length, 'all transmissions delivered');
    expect(new Set(watcher.notifies.map((n) => parseVia(n.headers.getAll('via')[0] ?? '').branch)).size).toBe(1);
  });

  it(kind === 'udp'
    ? 'RFC 3261 §17.1.2.2: after a 1xx keeps retransmitting every T2 and still ends with Timer F (408), unlike npm sip #155'
    : 'RFC 3261 §17.1.2.2: over TCP a 1xx then silence still ends with Timer F (408), unlike npm sip #155', async () => {
    watcher.answer = 100;
    const outcome = endpoint.sendRequest(notifyTo(watcher), { host: '127.0.0.1', port: watcher.port, transport: kind });
    // Wait (in real time) until the 100 Trying has reached the endpoint: the transaction is Proceeding.
    await eventually(() => transport.arrived.some((m) => m.kind === 'response' && m.status === 100), 'the 100 Trying');
    timers.advance(64 * T1 - 1);
    // §17.1.2.2: "If Timer E fires while in the Proceeding state ... Timer E MUST be reset with a value of T2".
    expect(transport.sentAt).toEqual(kind === 'udp' ? [0, 50, 450, 850, 1250, 1650, 2050, 2450, 2850] : [0]);
    timers.advance(1);
    expect(await outcome).toEqual({ status: 408, response: null });
  });

  it('RFC 3261 §17.1.2.2: a final response ends the transaction: no retransmission after it, the caller gets it', async () => {
    watcher.answer = 200;
    const outcome = endpoint.sendRequest(notifyTo(watcher), { host: '127.0.0.1', port: watcher.port, transport: kind });
    const res = await outcome;
    expect(res.status).toBe(200);
    timers.advance(64 * T1 * 2);
    expect(transport.sentAt).toEqual([0]);
  });
});

// ---------------------------------------------------------------------------------------------
// End to end: a real Herald whose watcher stops answering NOTIFY.

describe.each<Kind>(['udp', 'tcp'])('RFC 3261 §17.1.2 / RFC 6665 §4.2.2: Herald\'s NOTIFY to a silent watcher over %s', (kind) => {
  let h: RunningHerald;
  beforeAll(async () => {
    h = await startHerald({ sip_t1: 50, sip_t2: 400 });
  });
  afterAll(async () => {
    await h.stop();
  });

  async function subscribe(w: SipTestClient, aor: string): Promise<{ callId: string; localTag: string; remoteTag: string }> {
    const callId = `${randomBytes(6).toString('hex')}@silent`;
    const remoteTag = randomBytes(4).toString('hex');
    const res = await w.request('SUBSCRIBE', aor, [
      ['From', `<sip:watcher@127.0.0.1>;tag=${remoteTag}`], ['To', `<${aor}>`], ['Call-ID', callId],
      ['Event', 'presence'], ['Expires', '600'], ['Contact', `<${w.contact('watcher')}>`],
    ]);
    expect(res.status).toBeLessThan(300);
    return { callId, localTag: tagOf(res.headers.get('to')) as string, remoteTag };
  }

  async function gone(d: { callId: string; localTag: string; remoteTag: string }): Promise<boolean> {
    return (await h.app.store.subscriptions.byDialog(d.callId, d.localTag, d.remoteTag)) === undefined;
  }

  it(kind === 'udp'
    ? 'RFC 3261 §17.1.2.2: an unanswered NOTIFY is retransmitted (Timer E), and after Timer F (64*T1) the 408 removes the subscription'
    : 'RFC 3261 §17.1.2.2: an unanswered NOTIFY over TCP is not retransmitted, and after Timer F (64*T1) the 408 removes the subscription', async () => {
    const w = await SipTestClient.open(kind, h[kind]);
    try {
      w.autoAnswer = false;
      const d = await subscribe(w, `sip:silent-${kind}@127.0.0.1`);
      const first = await w.waitForRequest('NOTIFY', () => true, 5000, true);
      const br = parseVia(first.headers.getAll('via')[0] ?? '').branch;
      await eventually(() => gone(d), 'the subscription removed after Timer F');
      const copies = w.requests('NOTIFY').filter((n) => parseVia(n.headers.getAll('via')[0] ?? '').branch === br);
      if (kind === 'udp') {
        // Timer E doubles up to T2: at most 11 transmissions fit in Timer F (64 retransmissions at a fixed T1 would).
        expect(copies.length).toBeGreaterThanOrEqual(2);
        expect(copies.length).toBeLessThanOrEqual(11);
        expect(new Set(copies.map((n) => n.headers.get('cseq'))).size).toBe(1);
      } else {
        expect(copies).toHaveLength(1);
      }
    } finally {
      await w.close();
    }
  });

  it('RFC 3261 §17.1.2.2: a watcher that answers 100 Trying and then nothing still loses its subscription at Timer F (npm sip #155)', async () => {
    const w = await SipTestClient.open(kind, h[kind]);
    try {
      w.answerStatus = { NOTIFY: 100 };
      const d = await subscribe(w, `sip:trying-${kind}@127.0.0.1`);
      await w.waitForRequest('NOTIFY', () => true, 5000, true);
      await eventually(() => gone(d), 'the subscription removed after Timer F despite the 1xx');
    } finally {
      await w.close();
    }
  });

  it('RFC 6665 §4.2.2: a watcher that answers 200 keeps its subscription (the control case)', async () => {
    const w = await SipTestClient.open(kind, h[kind]);
    try {
      const d = await subscribe(w, `sip:answers-${kind}@127.0.0.1`);
      await w.waitForRequest('NOTIFY', () => true, 5000, true);
      const aor = `sip:answers-${kind}@127.0.0.1`;
      const pub = await w.request('PUBLISH', aor, [['From', `<${aor}>;tag=p`], ['Event', 'presence'], ['Expires', '60'], ['Content-Type', 'application/pidf+xml']], pidf(aor, 'open'));
      expect(pub.status).toBe(200);
      await w.waitForRequest('NOTIFY', (n) => n.body.length > 0, 5000, true);
      // (Also shows that gone() finds a live dialog, so the other tests can't pass vacuously.)
      expect(await gone(d)).toBe(false);
    } finally {
      await w.close();
    }
  });
});
