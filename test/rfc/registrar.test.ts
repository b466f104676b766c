/**
 * Registrar-lite (RFC 3261 §10.3): softphones pointed at Herald directly REGISTER first. Raw SIP over
 * real loopback UDP and TCP against a running Herald; `registrar: false` answers 405.
 */
import type { SipResponse } from '../../src/sip/message';
import { startHerald, type RunningHerald } from '../support/herald';
import { SipTestClient, type HeaderList } from '../support/sip-client';
import { WAIT, rnd } from '../support/subscriber';

/** Contact header values of a response, as { uri, expires, instance }. */
function bindings(res: SipResponse): Array<{ uri: string; expires: number; instance: string | null }> {
  return res.headers.getAll('contact').map((v) => ({
    uri: /<([^>]+)>/.exec(v)?.[1] ?? '',
    expires: Number(/;\s*expires=(\d+)/i.exec(v)?.[1] ?? NaN),
    instance: /\+sip\.instance="([^"]+)"/i.exec(v)?.[1] ?? null,
  }));
}

describe.each(['udp', 'tcp'] as const)('RFC 3261 §10.3 registrar-lite over %s', (transport) => {
  let h: RunningHerald;
  let c: SipTestClient;
  beforeAll(async () => {
    h = await startHerald({ min_expires: 30, max_expires: 3600, default_expires: 3600 });
    c = await SipTestClient.open(transport, h[transport]);
  });
  afterAll(async () => {
    await c.close();
    await h.stop();
  });

  const aor = (): string => `sip:alice-${rnd()}@127.0.0.1`;
  const register = (to: string, headers: HeaderList, o: { callId?: string; cseq?: number } = {}): Promise<SipResponse> =>
    c.request('REGISTER', 'sip:127.0.0.1', [
      ['From', `<${to}>;tag=${rnd()}`], ['To', `<${to}>`], ['Call-ID', o.callId ?? `${rnd(6)}@reg`], ['CSeq', `${o.cseq ?? 1} REGISTER`], ...headers,
    ], '', WAIT);
  const contactUri = (user: string, extra = ''): string => `sip:${user}@127.0.0.1:${c.local.port}${transport === 'tcp' ? ';transport=tcp' : ''}${extra}`;

  it('RFC 3261 §10.3 step 8: answers 200 listing the binding with its expires, and stores it', async () => {
    const a = aor();
    const res = await register(a, [['Contact', `<${contactUri('alice')}>`], ['Expires', '600']]);
    expect(res.status).toBe(200);
    expect(bindings(res)).toEqual([{ uri: contactUri('alice'), expires: expect.any(Number) as number, instance: null }]);
    expect(bindings(res)[0]?.expires).toBeGreaterThanOrEqual(599);
    expect(bindings(res)[0]?.expires).toBeLessThanOrEqual(600);
    const live = await h.app.store.registrations.live(a, Date.now());
    expect(live.map((b) => b.contact)).toEqual([contactUri('alice')]);
  });

  it('RFC 3261 §10.3 step 7: a Contact expires parameter wins over the Expires header; every current binding is listed', async () => {
    const a = aor();
    await register(a, [['Contact', `<${contactUri('desk')}>`], ['Expires', '900']]);
    const res = await register(a, [['Contact', `<${contactUri('mobile')}>;expires=120`], ['Expires', '900']]);
    expect(res.status).toBe(200);
    const b = bindings(res);
    expect(b.map((x) => x.uri).sort()).toEqual([contactUri('desk'), contactUri('mobile')].sort());
    const mobile = b.find((x) => x.uri === contactUri('mobile'));
    expect(mobile?.expires).toBeGreaterThanOrEqual(119);
    expect(mobile?.expires).toBeLessThanOrEqual(120);
  });

  it('RFC 3261 §10.3 step 7: an expires above max_expires is lowered; without any, default_expires is granted', async () => {
    const a = aor();
    const res = await register(a, [['Contact', `<${contactUri('x')}>`], ['Expires', '999999']]);
    expect(bindings(res)[0]?.expires).toBeLessThanOrEqual(3600);
    expect(bindings(res)[0]?.expires).toBeGreaterThanOrEqual(3599);
    const b = aor();
    const res2 = await register(b, [['Contact', `<${contactUri('y')}>`]]);
    expect(bindings(res2)[0]?.expires).toBeGreaterThanOrEqual(3599);
  });

  it('RFC 3261 §10.3 step 7: an expires below min_expires is answered 423 with Min-Expires', async () => {
    const res = await register(aor(), [['Contact', `<${contactUri('short')}>`], ['Expires', '5']]);
    expect(res.status).toBe(423);
    expect(res.headers.get('min-expires')).toBe('30');
  });

  it('RFC 3261 §10.3 step 7: Contact expires=0 removes that one binding and keeps the others', async () => {
    const a = aor();
    await register(a, [['Contact', `<${contactUri('one')}>`], ['Contact', `<${contactUri('two')}>`], ['Expires', '600']]);
    const res = await register(a, [['Contact', `<${contactUri('one')}>;expires=0`]]);
    expect(res.status).toBe(200);
    expect(bindings(res).map((x) => x.uri)).toEqual([contactUri('two')]);
  });

  it('RFC 3261 §10.3 step 7: a REGISTER with the binding\'s Call-ID and a CSeq not higher than its last one fails (500) and changes nothing', async () => {
    const a = aor();
    const callId = `${rnd(6)}@reg`;
    expect((await register(a, [['Contact', `<${contactUri('seq')}>`], ['Expires', '600']], { callId, cseq: 10 })).status).toBe(200);
    const stale = await register(a, [['Contact', `<${contactUri('seq')}>;expires=0`]], { callId, cseq: 9 });
    expect(stale.status).toBe(500);
    expect((await h.app.store.registrations.live(a, Date.now())).map((b) => b.contact)).toEqual([contactUri('seq')]);
    // Higher CSeq on the same Call-ID, or another Call-ID, updates it.
    expect((await register(a, [['Contact', `<${contactUri('seq')}>;expires=0`]], { callId, cseq: 11 })).status).toBe(200);
    expect(await h.app.store.registrations.live(a, Date.now())).toEqual([]);
  });

  it('RFC 3261 §10.3 step 6: Contact "*" with Expires: 0 removes every binding of the AOR (and only of that AOR)', async () => {
    const a = aor();
    const other = aor();
    await register(a, [['Contact', `<${contactUri('one')}>`], ['Contact', `<${contactUri('two')}>`], ['Expires', '600']]);
    await register(other, [['Contact', `<${contactUri('keep')}>`], ['Expires', '600']]);
    const res = await register(a, [['Contact', '*'], ['Expires', '0']]);
    expect(res.status).toBe(200);
    expect(res.headers.getAll('contact')).toEqual([]);
    expect(await h.app.store.registrations.live(a, Date.now())).toEqual([]);
    expect((await h.app.store.registrations.live(other, Date.now())).map((b) => b.contact)).toEqual([contactUri('keep')]);
  });

  it('RFC 3261 §10.3 step 6: "*" without Expires: 0, or beside another Contact, is answered 400', async () => {
    const a = aor();
    expect((await register(a, [['Contact', '*'], ['Expires', '600']])).status).toBe(400);
    expect((await register(a, [['Contact', '*'], ['Contact', `<${contactUri('z')}>`], ['Expires', '0']])).status).toBe(400);
  });

  it('RFC 3261 §10.2.3: a REGISTER without Contact is a query: 200 listing the current bindings, nothing changed', async () => {
    const a = aor();
    await register(a, [['Contact', `<${contactUri('q')}>`], ['Expires', '600']]);
    const res = await register(a, []);
    expect(res.status).toBe(200);
    expect(bindings(res).map((x) => x.uri)).toEqual([contactUri('q')]);
  });

  it('RFC 5626 §6: the +sip.instance of a binding is stored and echoed (linphone REGISTER, no Content-Length)', async () => {
    const user = `alice-${rnd()}`;
    const inst = `<urn:uuid:${rnd(4)}-7469-0005-a29c-a4a844968aed>`;
    const port = c.local.port;
    const branch = `z9hG4bK.${rnd()}`;
    // Captured linphonec 5.1 REGISTER shape (README of fixtures/real-clients): three Accept, Supported, no Content-Length.
    const lines = [
      `REGISTER sip:127.0.0.1:${h[transport].port} SIP/2.0`,
      `Via: SIP/2.0/${transport.toUpperCase()} 127.0.0.1:${port};branch=${branch};rport`,
      `From: "${user}" <sip:${user}@127.0.0.1>;tag=Yc6ZwdAMH`,
      `To: "${user}" <sip:${user}@127.0.0.1>`,
      'CSeq: 20 REGISTER',
      `Call-ID: ${rnd(5)}`,
      'Max-Forwards: 70',
      'Supported: replaces, outbound, gruu',
      'Accept: application/sdp',
      'Accept: text/plain',
      'Accept: application/vnd.gsma.rcs-ft-http+xml',
      `Contact: "${user}" <sip:${user}@127.0.0.1:${port};transport=${transport}>;+sip.instance="${inst}"`,
      'Expires: 60',
      'User-Agent: Linphonec/5.1.65',
    ];
    // Over TCP a message without Content-Length cannot be framed (RFC 3261 §18.3): linphone sends it there.
    if (transport === 'tcp') lines.push('Content-Length: 0');
    const wait = c.waitFor((m) => m.kind === 'response' && (m.headers.get('via') ?? '').includes(branch), WAIT);
    c.sendRaw(`${lines.join('\r\n')}\r\n\r\n`);
    const res = (await wait) as SipResponse;
    expect(res.status).toBe(200);
    // A registrar that offers no GRUU (none here) must not hand one out: linphone would SUBSCRIBE with it.
    expect(res.headers.get('contact')).not.toMatch(/gruu/i);
    expect(bindings(res)).toEqual([expect.objectContaining({ uri: `sip:${user}@127.0.0.1:${port};transport=${transport}`, instance: inst })]);
    expect((await h.app.store.registrations.live(`sip:${user}@127.0.0.1`, Date.now()))[0]?.instance).toBe(inst);
  });

  it('RFC 3261 §10.3: the registration AOR is the To URI, canonicalised (port and parameters dropped)', async () => {
    const user = `alice-${rnd()}`;
    await register(`sip:${user}@127.0.0.1:5080;transport=udp`, [['Contact', `<${contactUri('c')}>`], ['Expires', '600']]);
    expect(await h.app.store.registrations.live(`sip:${user}@127.0.0.1`, Date.now())).toHaveLength(1);
  });
});

describe.each(['udp', 'tcp'] as const)('registrar: false over %s', (transport) => {
  let h: RunningHerald;
  let c: SipTestClient;
  beforeAll(async () => {
    h = await startHerald({ registrar: false });
    c = await SipTestClient.open(transport, h[transport]);
  });
  afterAll(async () => {
    await c.close();
    await h.stop();
  });

  it('RFC 3261 §8.2.1: REGISTER is answered 405 with an Allow that does not list REGISTER, and nothing is stored', async () => {
    const a = `sip:alice-${rnd()}@127.0.0.1`;
    const res = await c.request('REGISTER', 'sip:127.0.0.1', [['From', `<${a}>;tag=${rnd()}`], ['To', `<${a}>`], ['Contact', `<sip:alice@127.0.0.1:${c.local.port}>`], ['Expires', '600']], '', WAIT);
    expect(res.status).toBe(405);
    const allow = (res.headers.get('allow') ?? '').split(',').map((s) => s.trim());
    expect(allow).toEqual(expect.arrayContaining(['SUBSCRIBE', 'PUBLISH']));
    expect(allow).not.toContain('REGISTER');
    expect(await h.app.store.registrations.live(a, Date.now())).toEqual([]);
  });
});
