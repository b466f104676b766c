/**
 * Hostile SIP input (issue 10) through everything Herald does before the database: 100,000 seeded
 * PUBLISH/SUBSCRIBE messages with bodies, header floods, parameter floods and deep or huge PIDF,
 * each either accepted or refused with a typed error (test/support/hostile-sip.ts), never anything
 * else. HERALD_HOSTILE_FUZZ_SEED / HERALD_HOSTILE_FUZZ_N change the run; `npm run bench -- --fuzz`
 * (test/bench/fuzz-million.ts) runs a million.
 */
import { hostileInput, judge, type Outcome } from '../support/hostile-sip';
import { mulberry32 } from '../support/prng';

const SEED = Number(process.env.HERALD_HOSTILE_FUZZ_SEED ?? 0x10ad);
const TOTAL = Number(process.env.HERALD_HOSTILE_FUZZ_N ?? 100_000);

describe('hostile SIP fuzz', () => {
  it(`accepts or refuses (typed) ${TOTAL} hostile PUBLISH/SUBSCRIBE inputs (seed ${SEED}): floods, parameter floods, deep and huge bodies`, () => {
    const rng = mulberry32(SEED);
    const counts: Record<Outcome, number> = { 'too-large': 0, refused: 0, accepted: 0 };
    const failures: string[] = [];
    for (let i = 0; i < TOTAL && failures.length < 5; i++) {
      const input = hostileInput(rng, i);
      try {
        counts[judge(input, (i & 1) === 0)]++;
      } catch (e) {
        failures.push(`seed ${SEED} #${i}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n${input.subarray(0, 400).toString('latin1')}`);
      }
    }
    console.log(`hostile fuzz seed ${SEED}: ${TOTAL} inputs ${JSON.stringify(counts)}`);
    expect(failures).toEqual([]);
    // A fair share must reach the handlers' reads and the PIDF check, and some must be refused for size.
    expect(counts.accepted).toBeGreaterThan(TOTAL / 20);
    expect(counts['too-large']).toBeGreaterThan(0);
  }, 300_000); // ~20-30 s alone on 2 cores; generous for a busy machine running suites in parallel
});
