/**
 * Micro-benchmark of the SIP hot path: parse a typical PUBLISH (baresip's initial PUBLISH, 900
 * bytes) and serialize it back. Run directly: `node -r @swc-node/register test/bench/parse.bench.ts`
 * (prints msg/s); `runParseBench()` is what a bench runner calls.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseVia, parseCSeq, parseNameAddr, parseEvent } from '../../src/sip/headers';
import { parseMessage } from '../../src/sip/parser';
import { serialize } from '../../src/sip/serializer';

export interface BenchResult {
  name: string;
  opsPerSec: number;
}

const FIXTURE = join(__dirname, '..', 'fixtures', 'sip', 'baresip-publish-initial-crlf-body.sip');

/**
 * Operations per second of fn: after a warm-up, `rounds` timed rounds of about `roundMs` each; the
 * median round is reported (the machine is shared, so single rounds are noisy).
 */
function measure(fn: () => unknown, rounds = 7, roundMs = 150): number {
  for (let i = 0; i < 20_000; i++) fn();
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let ops = 0;
    const start = process.hrtime.bigint();
    const budget = BigInt(roundMs) * 1_000_000n;
    let elapsed = 0n;
    while (elapsed < budget) {
      for (let i = 0; i < 1000; i++) fn();
      ops += 1000;
      elapsed = process.hrtime.bigint() - start;
    }
    rates.push((ops * 1e9) / Number(elapsed));
  }
  rates.sort((x, y) => x - y);
  return Math.round(rates[Math.floor(rates.length / 2)] as number);
}

export async function runParseBench(): Promise<BenchResult[]> {
  const raw = readFileSync(FIXTURE);
  const msg = parseMessage(raw, { datagram: true });
  let sink = 0;
  const results: BenchResult[] = [
    {
      name: 'sip parse PUBLISH (900 B)',
      opsPerSec: measure(() => {
        sink += parseMessage(raw, { datagram: true }).body.length;
      }),
    },
    {
      // What a PUBLISH handler reads: the top Via, From, To, CSeq, Event.
      name: 'sip parse PUBLISH + read handler headers',
      opsPerSec: measure(() => {
        const m = parseMessage(raw, { datagram: true });
        const h = m.headers;
        sink += parseVia(h.get('via') as string).port ?? 0;
        sink += parseNameAddr(h.get('from') as string).uri.length;
        sink += parseNameAddr(h.get('to') as string).uri.length;
        sink += parseCSeq(h.get('cseq') as string).seq + parseEvent(h.get('event') as string).event.length;
      }),
    },
    {
      name: 'sip serialize PUBLISH (900 B)',
      opsPerSec: measure(() => {
        sink += serialize(msg).length;
      }),
    },
  ];
  if (sink === 42) console.log('');
  return results;
}

if (require.main === module) {
  void runParseBench().then((results) => {
    for (const r of results) console.log(`${r.name.padEnd(45)} ${r.opsPerSec.toLocaleString('en-US')} msg/s`);
  });
}
