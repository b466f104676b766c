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

/** CPU time of this process (all threads, user + system) in nanoseconds. */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/**
 * Operations per CPU-second of fn ("on one core"): after a warm-up, `rounds` rounds of about
 * `roundMs` of wall time each; the median round is reported. CPU time rather than wall time keeps
 * the figure meaningful on a shared machine where other processes take turns on the cores.
 */
function measure(fn: () => unknown, rounds = 7, roundMs = 150): number {
  for (let i = 0; i < 20_000; i++) fn();
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let ops = 0;
    const wallEnd = Date.now() + roundMs;
    const cpuStart = cpuNs();
    while (Date.now() < wallEnd) {
      for (let i = 0; i < 1000; i++) fn();
      ops += 1000;
    }
    rates.push((ops * 1e9) / Math.max(1, cpuNs() - cpuStart));
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
