/**
 * The SUBSCRIBE flows of real softphones, replayed byte for byte (ports, tags and user names swapped for
 * this run) from /work/shared/fixtures/real-clients: baresip 1.0 (empty `Supported:`, no Accept) and
 * linphonec 5.1 (no Content-Length over UDP, `+sip.instance` and `expires` in Contact, `200 Ok` without
 * Content-Length, 481 to the NOTIFY after its un-SUBSCRIBE). NOTIFYs are answered the way each client
 * answers them. Over UDP (as captured) and TCP (the same messages with Content-Length, as TCP needs).
 */
import type { SipRequest, SipResponse } from '../../src/sip/message';
import { startHerald, type RunningHerald } from '../support/herald';
import { SipTestClient, tagOf } from '../support/sip-client';
import { WAIT, bodyOf, eventually, rnd, sleep, subState } from '../support/subscriber';

type Transport = 'udp' | 'tcp';

/** Join header lines as the client wrote them; add Content-Length only where the client did (or TCP needs it). */
function wire(lines: string[], body = '', contentLength: boolean): string {
  const all = contentLength ? [...lines, `Content-Length: ${Buffer.byteLength(body)}`] : lines;
  return `${all.join('\r\n')}\r\n\r\n${body}`;
}

const BARESIP_PIDF = (entity: string, basic: 'open' | 'closed'): string => [
  '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
  '<presence xmlns="urn:ietf:params:xml:ns:pidf"',
  '    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"',
  '    xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"',
  `    entity="${entity}">`,
  '  <dm:person id="p4159"><rpid:activities/></dm:person>',
  '  <tuple id="t4109">',
  '    <status>',
  `      <basic>${basic}</basic>`,
  '    </status>',
  `    <contact>${entity}</contact>`,
  '  </tuple>',
  '</presence>',
  '',
].join('\n');

const LINPHONE_PIDF = (entity: string): string => [
  '<?xml version="1.0" encoding="UTF-8"?>',
  `<presence xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:pidfonline="http://www.linphone.org/xsds/pidfonline.xsd" entity="${entity}" xmlns="urn:ietf:params:xml:ns:pidf">`,
  ' <tuple id="r95fev">',
  '  <status>',
  '   <basic>open</basic>',
  '   <pidfonline:online/>',
  '  </status>',
  `  <contact priority="0.8">${entity}</contact>`,
  '  <timestamp>2026-11-22T01:51:54Z</timestamp>',
  ' </tuple>',
  '</presence>',
  '',
].join('\n');

/** A raw peer: send bytes, wait for the response of a branch, answer NOTIFYs with client-shaped bytes. */
class ReplayPeer {
  constructor(readonly c: SipTestClient, readonly transport: Transport) {
    c.autoAnswer = false;
  }

  get port(): number {
    return this.c.local.port;
  }

  via(branch: string): string {
    return `Via: SIP/2.0/${this.transport.toUpperCase()} 127.0.0.1:${this.port};branch=${branch};rport`;
  }

  async send(bytes: string, branch: string): Promise<SipResponse> {
    const wait = this.c.waitFor((m) => m.kind === 'response' && m.status >= 200 && (m.headers.get('via') ?? '').includes(branch), WAIT);
    this.c.sendRaw(bytes);
    return (await wait) as SipResponse;
  }

  /** Reply to a request echoing Via/From/To/Call-ID/CSeq, with `extra` lines, as written by the client. */
  reply(req: SipRequest, statusLine: string, extra: string[], contentLength: boolean): void {
    const lines = [statusLine, ...req.headers.getAll('via').map((v) => `Via: ${v}`), `From: ${req.headers.get('from')}`, `To: ${req.headers.get('to')}`,
      `Call-ID: ${req.headers.get('call-id')}`, `CSeq: ${req.headers.get('cseq')}`, ...extra];
    this.c.sendRaw(wire(lines, '', contentLength));
  }

  nextNotify(callId: string, k: number): Promise<SipRequest> {
    const distinct = (): SipRequest[] => {
      const seen = new Set<string>();
      return this.c.requests('NOTIFY').filter((n) => {
        const key = n.headers.get('cseq') ?? '';
        if (n.headers.get('call-id') !== callId || seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    };
    return this.c.waitForRequest('NOTIFY', (n) => distinct()[k] === n, WAIT, true);
  }
}

describe.each(['udp', 'tcp'] as const)('real clients over %s', (transport) => {
  let h: RunningHerald;
  let serverPort: number;
  const opened: SipTestClient[] = [];
  beforeAll(async () => {
    h = await startHerald();
    serverPort = h[transport].port;
  });
  afterAll(async () => {
    for (const c of opened) await c.close();
    await h.stop();
  });

  const peer = async (): Promise<ReplayPeer> => {
    const c = await SipTestClient.open(transport, h[transport]);
    opened.push(c);
    return new ReplayPeer(c, transport);
  };

  it('baresip 1.0: REGISTER, SUBSCRIBE with an empty Supported: and no Accept, NOTIFYs empty → open → closed, un-SUBSCRIBE, final NOTIFY terminated;reason=timeout', async () => {
    const run = rnd();
    const alice = `alice-${run}`;
    const bob = `bob-${run}`;
    const pub = await peer();
    const w = await peer();
    const tp = transport === 'tcp' ? ';transport=tcp' : '';
    const bobContact = `sip:${bob}-0x563accaf80d0@127.0.0.1:${w.port}${tp}`;
    const ua = 'User-Agent: baresip v1.0.0 (x86_64/linux)';

    // REGISTER (baresip: plain, Allow list, Content-Length: 0).
    let b = `z9hG4bK${rnd(8)}`;
    const reg = await w.send(wire([
      `REGISTER sip:127.0.0.1:${serverPort};transport=${transport} SIP/2.0`, w.via(b), `Contact: <${bobContact}>;expires=60`, 'Max-Forwards: 70',
      `To: <sip:${bob}@127.0.0.1:${serverPort}>`, `From: <sip:${bob}@127.0.0.1:${serverPort}>;tag=${rnd(8)}`, `Call-ID: ${rnd(8)}`, 'CSeq: 44651 REGISTER', ua,
      'Allow: INVITE,ACK,BYE,CANCEL,OPTIONS,NOTIFY,SUBSCRIBE,INFO,MESSAGE,REFER',
    ], '', true), b);
    expect(reg.status).toBe(200);
    expect(reg.headers.get('contact')).toContain(bobContact);

    // SUBSCRIBE exactly as captured: Supported: empty, no Accept.
    b = `z9hG4bK${rnd(8)}`;
    const callId = rnd(8);
    const fromTag = rnd(8);
    const sub = await w.send(wire([
      `SUBSCRIBE sip:${alice}@127.0.0.1:${serverPort} SIP/2.0`, w.via(b), `Contact: <${bobContact}>`, 'Max-Forwards: 70',
      `To: <sip:${alice}@127.0.0.1:${serverPort}>`, `From: <sip:${bob}@127.0.0.1:${serverPort}>;tag=${fromTag}`, `Call-ID: ${callId}`, 'CSeq: 25342 SUBSCRIBE', ua,
      'Event: presence', 'Expires: 600', 'Supported:',
    ], '', true), b);
    expect(sub.status).toBe(200);
    expect(sub.headers.get('expires')).toBe('600');
    const toTag = tagOf(sub.headers.get('to'));
    expect(toTag).toBeTruthy();
    const serverContact = /<([^>]+)>/.exec(sub.headers.get('contact') ?? '')?.[1] ?? '';
    expect(serverContact).toMatch(/^sip:/);

    const answer = (n: SipRequest): void => w.reply(n, 'SIP/2.0 200 OK', ['Server: baresip v1.0.0 (x86_64/linux)'], true);
    // Initial NOTIFY: no publication → no body, no Content-Type (baresip shows "Unknown"; any other type would get 415).
    const n0 = await w.nextNotify(callId, 0);
    answer(n0);
    expect(n0.uri).toBe(bobContact);
    expect(subState(n0)).toMatch(/^active;expires=(600|599)$/);
    expect(n0.body.length).toBe(0);
    expect(n0.headers.has('content-type')).toBe(false);
    expect(tagOf(n0.headers.get('to'))).toBe(fromTag);
    expect(tagOf(n0.headers.get('from'))).toBe(toTag);

    // alice (baresip publisher) goes online: new Call-ID per PUBLISH.
    const entity = `sip:${alice}@127.0.0.1:${serverPort}`;
    b = `z9hG4bK${rnd(8)}`;
    const p1 = await pub.send(wire([
      `PUBLISH sip:${alice}@127.0.0.1:${serverPort} SIP/2.0`, pub.via(b), 'Max-Forwards: 70', `To: <${entity}>`, `From: <${entity}>;tag=${rnd(8)}`,
      `Call-ID: ${rnd(8)}`, 'CSeq: 54180 PUBLISH', ua, 'Content-Type: application/pidf+xml', 'Event: presence', 'Expires: 60',
    ], BARESIP_PIDF(entity, 'open'), true), b);
    expect(p1.status).toBe(200);
    const n1 = await w.nextNotify(callId, 1);
    answer(n1);
    // baresip reads status with a regex on the literal "<basic>open</basic>" (no namespace prefix).
    expect(n1.headers.get('content-type')).toBe('application/pidf+xml');
    expect(bodyOf(n1)).toContain('<basic>open</basic>');

    // alice goes offline (modify with SIP-If-Match, closed).
    b = `z9hG4bK${rnd(8)}`;
    const p2 = await pub.send(wire([
      `PUBLISH sip:${alice}@127.0.0.1:${serverPort} SIP/2.0`, pub.via(b), 'Max-Forwards: 70', `To: <${entity}>`, `From: <${entity}>;tag=${rnd(8)}`,
      `Call-ID: ${rnd(8)}`, 'CSeq: 13160 PUBLISH', ua, 'Content-Type: application/pidf+xml', 'Event: presence', 'Expires: 60',
      `SIP-If-Match: ${p1.headers.get('sip-etag')}`,
    ], BARESIP_PIDF(entity, 'closed'), true), b);
    expect(p2.status).toBe(200);
    const n2 = await w.nextNotify(callId, 2);
    answer(n2);
    expect(bodyOf(n2)).toContain('<basic>closed</basic>');
    expect(bodyOf(n2)).not.toContain('<basic>open</basic>');

    // un-SUBSCRIBE on quit: in-dialog to Herald's Contact, Expires: 0, Supported: empty again.
    b = `z9hG4bK${rnd(8)}`;
    const unsub = await w.send(wire([
      `SUBSCRIBE ${serverContact} SIP/2.0`, w.via(b), `Contact: <${bobContact}>`, 'Max-Forwards: 70',
      `To: <sip:${alice}@127.0.0.1:${serverPort}>;tag=${toTag}`, `From: <sip:${bob}@127.0.0.1:${serverPort}>;tag=${fromTag}`, `Call-ID: ${callId}`,
      'CSeq: 25343 SUBSCRIBE', ua, 'Event: presence', 'Expires: 0', 'Supported:',
    ], '', true), b);
    expect(unsub.status).toBe(200);
    const n3 = await w.nextNotify(callId, 3);
    answer(n3);
    expect(subState(n3)).toBe('terminated;reason=timeout');
    await eventually(async () => (await h.app.store.subscriptions.byDialog(callId, toTag ?? '', fromTag)) === undefined);
  });

  it('linphonec 5.1: REGISTER and SUBSCRIBE without Content-Length, Contact with expires and +sip.instance; "200 Ok" without Content-Length; its 481 to the final NOTIFY is no error', async () => {
    const run = rnd();
    const alice = `alice-${run}`;
    const bob = `bob-${run}`;
    const pub = await peer();
    const w = await peer();
    const inst = `<urn:uuid:569f6b54-4ab6-0030-a657-${rnd(6)}>`;
    // Over TCP linphone re-REGISTERs with the client side port of its connection: nothing listens there.
    const bobContact = `sip:${bob}@127.0.0.1:${w.port};transport=${transport}`;
    const ua = 'User-Agent: Linphonec/5.1.65';
    // UDP: exactly as captured, no Content-Length. TCP: a stream needs it (RFC 3261 §18.3).
    const cl = transport === 'tcp';

    let b = `z9hG4bK.${rnd(5)}`;
    const reg = await w.send(wire([
      `REGISTER sip:127.0.0.1:${serverPort} SIP/2.0`, w.via(b), `From: "${bob}" <sip:${bob}@127.0.0.1>;tag=${rnd(5)}`, `To: "${bob}" <sip:${bob}@127.0.0.1>`,
      'CSeq: 20 REGISTER', `Call-ID: ${rnd(5)}`, 'Max-Forwards: 70', 'Supported: replaces, outbound, gruu', 'Accept: application/sdp', 'Accept: text/plain',
      'Accept: application/vnd.gsma.rcs-ft-http+xml', `Contact: "${bob}" <${bobContact}>;+sip.instance="${inst}"`, 'Expires: 60', ua,
    ], '', cl), b);
    expect(reg.status).toBe(200);
    expect(reg.headers.get('contact')).not.toMatch(/gruu/i);

    b = `z9hG4bK.${rnd(5)}`;
    const callId = rnd(5);
    const fromTag = rnd(5);
    const sub = await w.send(wire([
      `SUBSCRIBE sip:${alice}@127.0.0.1:${serverPort} SIP/2.0`, w.via(b), `From: "${bob}" <sip:${bob}@127.0.0.1>;tag=${fromTag}`,
      `To: "${alice}" <sip:${alice}@127.0.0.1>`, 'CSeq: 20 SUBSCRIBE', `Call-ID: ${callId}`, 'Max-Forwards: 70', 'Supported: replaces, outbound, gruu',
      'Event: presence', 'Expires: 600', `Contact: <${bobContact}>;expires=60;+sip.instance="${inst}"`, ua,
    ], '', cl), b);
    expect(sub.status).toBe(200);
    expect(sub.headers.get('expires')).toBe('600');
    const toTag = tagOf(sub.headers.get('to')) ?? '';
    const serverContact = /<([^>]+)>/.exec(sub.headers.get('contact') ?? '')?.[1] ?? '';
    // The Contact's own "expires=60" is a REGISTER parameter: the subscription keeps the Expires header's 600.
    const stored = await h.app.store.subscriptions.byDialog(callId, toTag, fromTag);
    expect(stored).toMatchObject({ remoteTarget: bobContact, contactInstance: inst, watcher: `sip:${bob}@127.0.0.1`, presentity: `sip:${alice}@127.0.0.1` });

    const ok = (n: SipRequest): void => w.reply(n, 'SIP/2.0 200 Ok', [ua, 'Supported: replaces, outbound, gruu'], cl);
    const n0 = await w.nextNotify(callId, 0);
    ok(n0);
    expect(n0.uri).toBe(bobContact);
    expect(subState(n0)).toMatch(/^active;expires=(600|599)$/);
    expect(n0.body.length).toBe(0);

    // alice (linphone publisher: To/From without the port) publishes the pidfonline document.
    const entity = `sip:${alice}@127.0.0.1:${serverPort}`;
    b = `z9hG4bK.${rnd(5)}`;
    const p1 = await pub.send(wire([
      `PUBLISH ${entity} SIP/2.0`, pub.via(b), `From: "${alice}" <sip:${alice}@127.0.0.1>;tag=${rnd(5)}`, `To: "${alice}" <sip:${alice}@127.0.0.1>`,
      'CSeq: 20 PUBLISH', `Call-ID: ${rnd(5)}`, 'Max-Forwards: 70', 'Supported: replaces, outbound, gruu', 'Event: presence',
      'Content-Type: application/pidf+xml', `Content-Length: ${Buffer.byteLength(LINPHONE_PIDF(entity))}`, 'Expires: 60', ua,
    ], LINPHONE_PIDF(entity), false), b);
    expect(p1.status).toBe(200);
    const n1 = await w.nextNotify(callId, 1);
    ok(n1);
    expect(bodyOf(n1)).toMatch(/<basic>open<\/basic>/);
    expect(bodyOf(n1)).toContain('pidfonline');

    // Still subscribed after the "200 Ok" answers without Content-Length.
    expect((await h.app.store.subscriptions.byDialog(callId, toTag, fromTag))?.state).toBe('active');

    // un-SUBSCRIBE on quit, then linphone answers the final NOTIFY 481 (it already dropped the dialog).
    const notifierLog = (h.app.notifier as unknown as { o: { log: { info: (...a: unknown[]) => void; warn: (...a: unknown[]) => void; error: (...a: unknown[]) => void } } }).o.log;
    const spies = [jest.spyOn(notifierLog, 'info'), jest.spyOn(notifierLog, 'warn'), jest.spyOn(notifierLog, 'error')];
    try {
      const failedBefore = h.app.notifier.failed;
      b = `z9hG4bK.${rnd(5)}`;
      const unsub = await w.send(wire([
        `SUBSCRIBE ${serverContact} SIP/2.0`, w.via(b), `From: "${bob}" <sip:${bob}@127.0.0.1>;tag=${fromTag}`,
        `To: "${alice}" <sip:${alice}@127.0.0.1>;tag=${toTag}`, 'CSeq: 21 SUBSCRIBE', `Call-ID: ${callId}`, 'Max-Forwards: 70',
        'Supported: replaces, outbound, gruu', 'Event: presence', 'Expires: 0', `Contact: <${bobContact}>;+sip.instance="${inst}";expires=0`, ua,
      ], '', cl), b);
      expect(unsub.status).toBe(200);
      const n2 = await w.nextNotify(callId, 2);
      expect(subState(n2)).toBe('terminated;reason=timeout');
      w.reply(n2, 'SIP/2.0 481 Call/transaction does not exist', [], cl);
      await eventually(() => h.app.notifier.failed > failedBefore);
      await sleep(200);
      // The 481 was taken as the expected answer to a final NOTIFY: nothing logged above debug.
      for (const s of spies) expect(s).not.toHaveBeenCalled();
      await eventually(async () => (await h.app.store.subscriptions.byDialog(callId, toTag, fromTag)) === undefined);
    } finally {
      for (const s of spies) s.mockRestore();
    }

    // Herald keeps serving: the same device subscribes again (new dialog) and is NOTIFYed.
    b = `z9hG4bK.${rnd(5)}`;
    const again = await w.send(wire([
      `SUBSCRIBE sip:${alice}@127.0.0.1:${serverPort} SIP/2.0`, w.via(b), `From: "${bob}" <sip:${bob}@127.0.0.1>;tag=${rnd(5)}`,
      `To: "${alice}" <sip:${alice}@127.0.0.1>`, 'CSeq: 20 SUBSCRIBE', `Call-ID: ${callId}-2`, 'Max-Forwards: 70', 'Event: presence', 'Expires: 600',
      `Contact: <${bobContact}>;expires=60;+sip.instance="${inst}"`, ua,
    ], '', cl), b);
    expect(again.status).toBe(200);
    const m0 = await w.nextNotify(`${callId}-2`, 0);
    ok(m0);
    expect(bodyOf(m0)).toContain('<basic>open</basic>');
  });

  it('both clients accept 200 and 202 (tested by the captures): with subscribe_reply_code 200 the 2xx is 200', async () => {
    expect(h.app.config.subscribeReplyCode).toBe(200);
  });
});
