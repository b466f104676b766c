/**
 * Micro-benchmark of the fan-out hot path: one composed document, serialized once, turned into
 * 1000 NOTIFY requests (build + serialize), as Fanout + SipNotifier do for a PUBLISH.
 * Run: node -r @swc-node/register test/bench/fanout.bench.ts
 */
import { buildNotify } from '../../src/notify/notifier';
import { PresenceDocuments } from '../../src/presence/documents';
import type { Publication, Subscription } from '../../src/presence/model';
import { serialize } from '../../src/sip/serializer';

const NOW = 1_800_000_000_000;

function pub(i: number): Publication {
  const body = `<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:alice@example.com"><dm:person id="p${i}"><rpid:activities><rpid:busy/></rpid:activities></dm:person><tuple id="t${i}"><status><basic>open</basic></status><contact>sip:alice@10.0.0.${i}</contact><note>Device ${i}</note></tuple></presence>`;
  return { presentity: 'sip:alice@example.com', event: 'presence', etag: `e${i}`, body, contentType: 'application/pidf+xml', source: 'sip', client: null, receivedAt: NOW + i, expiresAt: NOW + 3_600_000 };
}

function sub(i: number): Subscription {
  return {
    id: `s${i}`, presentity: 'sip:alice@example.com', event: 'presence', eventId: null, watcher: `sip:w${i}@example.com`, watcherDisplayName: null,
    callId: `call-${i}@10.0.0.1`, remoteTag: `rt${i}`, localTag: `10lt${i}`, remoteUri: `sip:w${i}@example.com`, localUri: 'sip:alice@example.com',
    remoteCseq: 1, localCseq: 1, remoteTarget: `sip:w${i}@10.0.1.${i % 250}:5060`, routeSet: ['<sip:proxy.example.com;lr>'], contactInstance: null,
    via: { transport: 'udp', host: '10.0.1.1', port: 5060, connectionId: null }, state: 'active', reason: null,
    expiresAt: NOW + 600_000, version: 0, node: 'n', createdAt: NOW, updatedAt: NOW,
  };
}

function measure(name: string, iterations: number, fn: () => void): { name: string; opsPerSec: number } {
  for (let i = 0; i < Math.min(200, iterations); i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { name, opsPerSec: Math.round(iterations / s) };
}

export async function runFanoutBench(): Promise<Array<{ name: string; opsPerSec: number }>> {
  const docs = new PresenceDocuments(65536);
  const pubs = [pub(1), pub(2), pub(3)];
  const subs = Array.from({ length: 1000 }, (_, i) => sub(i));
  const composed = docs.compose('sip:alice@example.com', pubs);
  return [
    measure('compose 3 publications (cached parse) + serialize', 2000, () => {
      docs.compose('sip:alice@example.com', pubs);
    }),
    measure('fan-out: 1000 NOTIFYs built + serialized (per NOTIFY)', 20, () => {
      for (const s of subs) serialize(buildNotify({ subscription: s, state: 'active', body: { contentType: 'application/pidf+xml', content: composed.content } }, 2, 'sip:herald.example.com:5060', NOW));
    }),
  ].map((r, i) => (i === 1 ? { ...r, opsPerSec: r.opsPerSec * 1000 } : r));
}

if (require.main === module) {
  void runFanoutBench().then((rows) => {
    for (const r of rows) console.log(`${r.name.padEnd(60)} ${r.opsPerSec.toLocaleString('en-US')} ops/s`);
  });
}
