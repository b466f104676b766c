/** The per-source token bucket of PUBLISH/SUBSCRIBE (src/sip/rate-limit.ts), on a fake clock. */
import { FakeClock } from '../../src/clock';
import { SourceRateLimiter } from '../../src/sip/rate-limit';

const limiter = (clock: FakeClock, over: Partial<ConstructorParameters<typeof SourceRateLimiter>[0]> = {}): SourceRateLimiter =>
  new SourceRateLimiter({ clock, ratePerSec: 2, burst: 3, maxSources: 100, exempt: [], ...over });

describe('source rate limiter', () => {
  it('grants a burst, then refuses with the seconds until the next token, and refills at the rate', () => {
    const clock = new FakeClock();
    const l = limiter(clock);
    expect([l.take('10.0.0.1'), l.take('10.0.0.1'), l.take('10.0.0.1')]).toEqual([0, 0, 0]);
    expect(l.take('10.0.0.1')).toBe(1);
    expect(l.take('10.0.0.2')).toBe(0); // another source has its own bucket
    clock.advance(500); // one token at 2/s
    expect(l.take('10.0.0.1')).toBe(0);
    expect(l.take('10.0.0.1')).toBe(1);
    clock.advance(60_000); // refilled, but never beyond the burst
    expect([0, 1, 2, 3].map(() => l.take('10.0.0.1'))).toEqual([0, 0, 0, 1]);
    expect(l.refused).toBe(3);
  });

  it('limits loopback like any source unless it is listed as exempt (also as ::ffff:127.0.0.1)', () => {
    const clock = new FakeClock();
    const limited = limiter(clock, { burst: 1 });
    expect([limited.take('127.0.0.1'), limited.take('127.0.0.1')]).toEqual([0, 1]);
    const exempt = limiter(clock, { burst: 1, exempt: ['127.0.0.1'] });
    expect([1, 2, 3].map(() => exempt.take('::ffff:127.0.0.1'))).toEqual([0, 0, 0]);
  });

  it('keeps at most max_sources buckets however many sources it sees', () => {
    const clock = new FakeClock();
    const l = limiter(clock, { maxSources: 100 });
    for (let i = 0; i < 100_000; i++) l.take(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(l.sources).toBe(100);
  });

  it('is off with a rate of 0', () => {
    const l = limiter(new FakeClock(), { ratePerSec: 0, burst: 1 });
    expect([1, 2, 3].map(() => l.take('10.0.0.1'))).toEqual([0, 0, 0]);
    expect(l.sources).toBe(0);
  });
});
