/**
 * Non-INVITE server transactions (RFC 3261 §17.2.2): a retransmitted request is never processed
 * twice; while the transaction is Trying it is absorbed, once Completed the last response is sent
 * again. Timer J (64*T1 for UDP, zero for TCP) bounds how long a transaction is remembered.
 * Entries are kept in insertion order and dropped by one periodic sweep (no timer per request).
 */
import type { Clock } from '../clock';
import type { SipRequest } from './message';
import { parseCSeq, parseVia } from './headers';

interface Entry {
  createdAt: number;
  response: Buffer | null;
}

export type Arrival = { kind: 'new'; key: string } | { kind: 'retransmission'; response: Buffer | null };

export class ServerTransactions {
  private readonly entries = new Map<string, Entry>();
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly clock: Clock,
    /** Timer J = 64*T1 (RFC 3261 §17.2.2). */
    private readonly timerJMs: number,
  ) {}

  start(): void {
    this.sweepTimer = setInterval(() => this.sweep(), 1000);
    this.sweepTimer.unref();
  }

  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  /** RFC 3261 §17.2.3: match by branch, sent-by and method; for reliable transports keep nothing. */
  arrive(req: SipRequest, reliable: boolean): Arrival {
    const key = transactionKey(req);
    if (reliable) return { kind: 'new', key };
    const e = this.entries.get(key);
    if (e) return { kind: 'retransmission', response: e.response };
    this.entries.set(key, { createdAt: this.clock.now(), response: null });
    return { kind: 'new', key };
  }

  /** Remember the final response to replay it for retransmissions (Completed state). */
  completed(key: string, response: Buffer): void {
    const e = this.entries.get(key);
    if (e) e.response = response;
  }

  sweep(): void {
    const cutoff = this.clock.now() - this.timerJMs;
    for (const [key, e] of this.entries) {
      if (e.createdAt > cutoff) break; // insertion order is time order
      this.entries.delete(key);
    }
  }
}

/**
 * RFC 3261 §17.2.3: with a branch starting "z9hG4bK" the branch, the sent-by and the method
 * identify the transaction; otherwise (RFC 2543 peers) Call-ID, From tag, CSeq and top Via do.
 */
export function transactionKey(req: SipRequest): string {
  const top = req.headers.getAll('via')[0] ?? '';
  const method = req.method === 'ACK' ? 'INVITE' : req.method;
  try {
    const v = parseVia(top);
    if (v.branch && v.branch.startsWith('z9hG4bK')) return `${v.branch}|${v.host}:${v.port ?? ''}|${method}`;
  } catch {
    /* fall through to the RFC 2543 key */
  }
  let seq: string;
  try {
    seq = String(parseCSeq(req.headers.get('cseq') ?? '').seq);
  } catch {
    seq = req.headers.get('cseq') ?? '';
  }
  const fromTag = /;\s*tag=([^;\s]+)/i.exec(req.headers.get('from') ?? '')?.[1] ?? '';
  return `2543|${req.headers.get('call-id') ?? ''}|${fromTag}|${seq}|${method}|${top}`;
}
