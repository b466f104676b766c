/**
 * Issue 10, overload beyond the count: when requests inside max_in_flight wait longer than
 * max_queue_delay, the endpoint answers new ones 503 with Retry-After (RFC 3261 §21.5.4) instead
 * of letting them queue, and serves again once the queue is gone. Real UDP sockets; the clock and
 * the handler's pace are the test's, so no timing is asserted.
 */
import { FakeClock, systemTimers } from '../../src/clock';
import { silentLogger } from '../../src/log';
import { SipEndpoint } from '../../src/sip/endpoint';
import { UdpTransport } from '../../src/sip/udp-transport';
import { SipTestClient } from '../support/sip-client';

describe('max_queue_delay at the SIP endpoint', () => {
  const clock = new FakeClock();
  const held: Array<() => void> = [];
  let endpoint: SipEndpoint;
  let c: SipTestClient;
  beforeAll(async () => {
    const udp = new UdpTransport('127.0.0.1', 0, 1 << 20, silentLogger);
    endpoint = new SipEndpoint({ transports: [udp], clock, timers: systemTimers, log: silentLogger, maxMessageSize: 65_535, t1Ms: 500, t2Ms: 4000,
      advertisedHost: '127.0.0.1', maxInFlight: 1000, maxQueueDelayMs: 2000 });
    endpoint.setHandler(() => new Promise((resolve) => held.push(() => resolve({ status: 200, reason: 'OK' }))));
    await endpoint.start();
    c = await SipTestClient.open('udp', { host: '127.0.0.1', port: udp.local.port });
  });
  afterAll(async () => {
    await c.close();
    await endpoint.stop();
  });

  const options = (): Promise<{ status: number; headers: { get(n: string): string | undefined } }> => c.request('OPTIONS', 'sip:herald@127.0.0.1', [], '', 10_000);
  async function heldCount(n: number): Promise<void> {
    for (let i = 0; i < 500 && held.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    expect(held.length).toBe(n);
  }

  it('answers 503 with Retry-After while every request waits longer than the bound, and serves again once the queue is gone', async () => {
    const first = [options(), options(), options()];
    await heldCount(3);
    // The requests sat 3 s in the queue; two answered 150 ms apart: a standing delay.
    clock.advance(3000);
    held.shift()?.();
    expect((await first[0])?.status).toBe(200);
    clock.advance(150);
    held.shift()?.();
    expect((await first[1])?.status).toBe(200);

    const refused = await options();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(held.length).toBe(1); // the refused request never reached the handler
    expect(endpoint.queueDelay.refused).toBe(1);

    // The last queued request ends; with nothing in flight the next one is let in and answered fast.
    held.shift()?.();
    expect((await first[2])?.status).toBe(200);
    const probe = options();
    await heldCount(1);
    held.shift()?.();
    expect((await probe).status).toBe(200);
    const after = options();
    await heldCount(1);
    held.shift()?.();
    expect((await after).status).toBe(200);
    expect(endpoint.queueDelay.refused).toBe(1);
  });
});
