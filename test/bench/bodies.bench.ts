/**
 * Micro-benchmark of the presence body hot path: parse a typical PIDF (linphone's PUBLISH body,
 * 517 bytes), compose three publications and serialize the result (once per change, shared by
 * every watcher's NOTIFY), build a watcherinfo document with 100 watchers.
 * Run directly: `node -r @swc-node/register test/bench/bodies.bench.ts` (prints ops/s);
 * `runBodiesBench()` is what a bench runner calls.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePidf, serializePidf } from '../../src/bodies/pidf';
import { composePidf } from '../../src/bodies/compose';
import { buildWatcherinfo, type WinfoWatcher } from '../../src/bodies/winfo';

export interface BenchResult {
  name: string;
  opsPerSec: number;
}

const FIXTURES = join(__dirname, '..', 'fixtures', 'pidf');

/** Runs fn for about `ms` milliseconds after a warm-up; returns operations per second. */
function measure(fn: () => unknown, ms = 1000): number {
  for (let i = 0; i < 2_000; i++) fn();
  let ops = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(ms) * 1_000_000n;
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 100; i++) fn();
    ops += 100;
    elapsed = process.hrtime.bigint() - start;
  }
  return Math.round((ops * 1e9) / Number(elapsed));
}

function watchers(n: number): WinfoWatcher[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `w${i}`,
    status: i % 5 === 0 ? 'pending' : 'active',
    event: i % 5 === 0 ? 'subscribe' : 'approved',
    uri: `sip:watcher-${i}@example.com`,
    displayName: i % 2 === 0 ? `Watcher "${i}" & co` : null,
    durationSubscribed: i * 10,
    expiration: 3600 - i,
  }));
}

export async function runBodiesBench(): Promise<BenchResult[]> {
  const linphone = readFileSync(join(FIXTURES, 'linphone-pidfonline-open.xml'));
  const baresip = readFileSync(join(FIXTURES, 'baresip-open.xml'));
  const rich = readFileSync(join(FIXTURES, 'rich-extensions-open.xml'));
  const publications = [
    { body: parsePidf(baresip), receivedAt: 1 },
    { body: parsePidf(linphone), receivedAt: 2 },
    { body: parsePidf(rich), receivedAt: 3 },
  ];
  const list = watchers(100);
  let sink = 0;
  const results: BenchResult[] = [
    { name: 'pidf parse (linphone, 517 B)', opsPerSec: measure(() => (sink += parsePidf(linphone).children.length)) },
    { name: 'pidf compose 3 publications + serialize', opsPerSec: measure(() => (sink += serializePidf(composePidf('sip:alice@example.com', publications)).length)) },
    {
      name: 'winfo build, 100 watchers',
      opsPerSec: measure(() => (sink += buildWatcherinfo({ version: 7, state: 'full', resource: 'sip:alice@example.com', package: 'presence', watchers: list }).length)),
    },
  ];
  if (sink === 42) console.log(''); // keep the work observable
  return results;
}

if (require.main === module) {
  void runBodiesBench().then((results) => {
    for (const r of results) console.log(`${r.name.padEnd(45)} ${r.opsPerSec.toLocaleString('en-US').padStart(12)} ops/s`);
  });
}
