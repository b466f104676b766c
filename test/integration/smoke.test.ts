import { startHerald, type RunningHerald } from '../support/herald';
import { SipTestClient, pidf, tagOf } from '../support/sip-client';

describe('Herald end to end over UDP', () => {
  let h: RunningHerald;
  let alice: SipTestClient;
  let bob: SipTestClient;
  beforeAll(async () => {
    h = await startHerald();
    alice = await SipTestClient.open('udp', h.udp);
    bob = await SipTestClient.open('udp', h.udp);
  });
  afterAll(async () => {
    await alice.close();
    await bob.close();
    await h.stop();
  });

  it('tells a watcher about a PUBLISH with the composed document', async () => {
    const target = `sip:alice@127.0.0.1`;
    const sub = await bob.request('SUBSCRIBE', target, [
      ['From', '<sip:bob@127.0.0.1>;tag=bobtag'], ['To', `<${target}>`], ['Event', 'presence'], ['Expires', '600'], ['Contact', `<${bob.contact('bob')}>`],
    ]);
    expect(sub.status).toBe(200);
    expect(tagOf(sub.headers.get('to'))).toBeTruthy();
    const first = await bob.waitForRequest('NOTIFY', () => true, 3000, true);
    expect(first.headers.get('subscription-state')).toMatch(/^active;expires=\d+/);
    expect(first.body.length).toBe(0);

    const pub = await alice.request('PUBLISH', target, [['From', `<${target}>;tag=a1`], ['Event', 'presence'], ['Expires', '60'], ['Content-Type', 'application/pidf+xml']], pidf(target, 'open', 'Hello'));
    expect(pub.status).toBe(200);
    expect(pub.headers.get('sip-etag')).toBeTruthy();
    const second = await bob.waitForRequest('NOTIFY', (n) => n.body.length > 0);
    expect(second.body.toString()).toContain('<basic>open</basic>');
    expect(Number(/\d+/.exec(second.headers.get('cseq') ?? '')?.[0])).toBeGreaterThan(Number(/\d+/.exec(first.headers.get('cseq') ?? '')?.[0]));
  });
});

describe('Herald over TCP and its metrics', () => {
  let h: RunningHerald;
  beforeAll(async () => {
    h = await startHerald();
  });
  afterAll(() => h.stop());

  it('RFC 3261 §12.1.1: the Contact of a 2xx to a SUBSCRIBE over TCP names the TCP listener', async () => {
    const c = await SipTestClient.open('tcp', h.tcp);
    try {
      const target = 'sip:tcp-contact@127.0.0.1';
      const r = await c.request('SUBSCRIBE', target, [['Event', 'presence'], ['Expires', '60'], ['Contact', `<${c.contact('w')}>`]]);
      expect(r.status).toBe(200);
      expect(r.headers.get('contact')).toBe(`<sip:127.0.0.1:${h.tcp.port};transport=tcp>`);
      const n = await c.waitForRequest('NOTIFY', () => true, 3000, true);
      expect(n.headers.get('contact')).toBe(`<sip:127.0.0.1:${h.tcp.port};transport=tcp>`);
    } finally {
      await c.close();
    }
  });

  it('counts every SIP final response by method and status on /metrics', async () => {
    const c = await SipTestClient.open('udp', h.udp);
    try {
      expect((await c.request('OPTIONS', 'sip:ping@127.0.0.1', [])).status).toBe(200);
      expect((await c.request('INVITE', 'sip:ping@127.0.0.1', [])).status).toBe(405);
    } finally {
      await c.close();
    }
    const text = await (await fetch(`http://127.0.0.1:${h.http?.port}/metrics`)).text();
    expect(text).toMatch(/herald_sip_requests_total\{method="OPTIONS",status="200"\} [1-9]/);
    expect(text).toMatch(/herald_sip_requests_total\{method="INVITE",status="405"\} [1-9]/);
  });
});
