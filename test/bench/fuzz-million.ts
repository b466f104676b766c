/**
 * Nightly-style hostile SIP fuzz (issue 10): a million seeded inputs of test/support/hostile-sip.ts
 * (PUBLISH/SUBSCRIBE with bodies, header and parameter floods, deep and huge PIDF) through what
 * Herald runs before the database. Zero untyped failures is the pass mark; the script also reports
 * the outcome counts, the rate and the peak RSS of this process.
 *
 *   node -r @swc-node/register test/bench/fuzz-million.ts [--n 1000000] [--seed 4269]
 *   npm run bench -- --fuzz [--n N]
 * Exit code 1 when an input failed (the seed and index replay it).
 */
import { hostileInput, judge, type Outcome } from '../support/hostile-sip';
import { mulberry32 } from '../support/prng';

export interface FuzzReport {
  inputs: number;
  seed: number;
  counts: Record<Outcome, number>;
  failures: string[];
  seconds: number;
  peakRssMb: number;
}

export function runFuzzMillion(total = 1_000_000, seed = 0x10ad): FuzzReport {
  const rng = mulberry32(seed);
  const counts: Record<Outcome, number> = { 'too-large': 0, refused: 0, accepted: 0 };
  const failures: string[] = [];
  const started = process.hrtime.bigint();
  let peak = process.memoryUsage.rss();
  for (let i = 0; i < total && failures.length < 10; i++) {
    const input = hostileInput(rng, i);
    try {
      counts[judge(input, (i & 1) === 0)]++;
    } catch (e) {
      failures.push(`seed ${seed} #${i}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (i % 10_000 === 0) {
      peak = Math.max(peak, process.memoryUsage.rss());
      if (i % 100_000 === 0 && i > 0) console.error(`fuzz: ${i} inputs, ${JSON.stringify(counts)}`);
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { inputs: total, seed, counts, failures, seconds, peakRssMb: Math.round(peak / 1e6) };
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}

if (require.main === module) {
  const r = runFuzzMillion(Number(arg('n', '1000000')), Number(arg('seed', String(0x10ad))));
  console.log(JSON.stringify({ ...r, inputsPerSec: Math.round(r.inputs / r.seconds) }, null, 2));
  process.exit(r.failures.length === 0 ? 0 : 1);
}
