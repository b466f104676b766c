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
