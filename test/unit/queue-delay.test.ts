/**
 * The bound on how long SIP requests wait (sip/queue-delay.ts): CoDel-style, a standing delay —
 * every request of an interval slower than the bound — sheds new requests; one fast answer, or
 * nothing in flight, ends it.
 */
import { QueueDelay } from '../../src/sip/queue-delay';

describe('QueueDelay', () => {
  const bound = 2000;
  const interval = 100;

  it('refuses nothing while a request of the interval was handled within the bound', () => {
    const q = new QueueDelay({ boundMs: bound, intervalMs: interval });
    q.handled(3000, 0);
    q.handled(100, 50);
    q.handled(3000, 120);
    q.handled(3000, 190);
    expect(q.shed(5)).toBe(false);
    expect(q.refused).toBe(0);
  });

  it('does not shed for one slow request alone, however slow', () => {
    const q = new QueueDelay({ boundMs: bound, intervalMs: interval });
    q.handled(60_000, 0);
    expect(q.shed(5)).toBe(false);
  });

  it('sheds new requests once every request for an interval took longer than the bound, until one is fast again', () => {
    const q = new QueueDelay({ boundMs: bound, intervalMs: interval });
    q.handled(2500, 1000);
    q.handled(2600, 1050);
    expect(q.shed(5)).toBe(false);
    q.handled(2700, 1100);
    expect(q.shed(5)).toBe(true);
    expect(q.shed(4)).toBe(true);
    q.handled(2800, 1150);
    expect(q.shed(3)).toBe(true);
    q.handled(150, 1200);
    expect(q.shed(3)).toBe(false);
    expect(q.refused).toBe(3);
  });

  it('lets the next request in when nothing is in flight, so a shed never outlives its queue', () => {
    const q = new QueueDelay({ boundMs: bound, intervalMs: interval });
    q.handled(2500, 0);
    q.handled(2500, 100);
    expect(q.shed(1)).toBe(true);
    expect(q.shed(0)).toBe(false);
    // ...and the run of slow requests starts over.
    q.handled(2500, 200);
    expect(q.shed(1)).toBe(false);
  });

  it('is off with a bound of 0', () => {
    const q = new QueueDelay({ boundMs: 0, intervalMs: interval });
    for (let t = 0; t < 1000; t += 10) q.handled(60_000, t);
    expect(q.shed(100)).toBe(false);
  });
});
