/** The injected randomness (src/clock.ts): pooled CSPRNG tokens. */
import { pooledCryptoRandom } from '../../src/clock';

describe('pooledCryptoRandom', () => {
  it('hands out URL-safe tokens of the asked length, never the same bytes twice across refills', () => {
    const r = pooledCryptoRandom(64);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const t = r.token(9);
      expect(t).toMatch(/^[A-Za-z0-9_-]{12}$/);
      seen.add(t);
    }
    expect(seen.size).toBe(2000);
  });

  it('serves a token larger than the pool straight from the generator', () => {
    const t = pooledCryptoRandom(16).token(48);
    expect(Buffer.from(t, 'base64url')).toHaveLength(48);
  });
});
