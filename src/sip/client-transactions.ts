/**
 * Non-INVITE client transactions (RFC 3261 §17.1.2), used for NOTIFY. Over UDP the request is
 * retransmitted with Timer E starting at T1 and doubling up to T2; Timer F (64*T1) ends the
 * transaction with a 408 to the caller, also after a provisional response; Timer K (T4 for UDP)
 * absorbs retransmitted responses.
 */
import type { Timers } from '../clock';
import type { SipResponse } from './message';

export interface ClientTransactionTimers {
  t1Ms: number;
  t2Ms: number;
  /** T4: how long a completed transaction absorbs response retransmissions (UDP). */
  t4Ms: number;
}

/** The outcome handed to the caller: the final response, or 408 for a timeout, 503 for a send failure. */
export interface ClientOutcome {
  status: number;
  response: SipResponse | null;
}

interface Pending {
  resolve(o: ClientOutcome): void;
  timerE: NodeJS.Timeout | null;
  timerF: NodeJS.Timeout;
  intervalMs: number;
  proceeding: boolean;
  done: boolean;
}

export class ClientTransactions {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly timers: Timers,
    private readonly config: ClientTransactionTimers,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /**
   * Start a transaction identified by `key` (branch + method). `send` puts the bytes on the wire;
   * it is called again for each retransmission when `reliable` is false.
   */
  start(key: string, reliable: boolean, send: () => Promise<void>): Promise<ClientOutcome> {
    return new Promise((resolve) => {
      const { t1Ms } = this.config;
      const p: Pending = {
        resolve,
        timerE: null,
        intervalMs: t1Ms,
        proceeding: false,
        done: false,
        // RFC 3261 §17.1.2.2: "If Timer F fires while in the Trying state [or Proceeding], the client transaction SHOULD inform the TU about the timeout".
        timerF: this.timers.setTimeout(() => this.finish(key, { status: 408, response: null }), 64 * t1Ms),
      };
      this.pending.set(key, p);
      const fail = (): void => this.finish(key, { status: 503, response: null });
      send().catch(fail);
      if (!reliable) this.armE(key, p, send, fail);
    });
  }

  private armE(key: string, p: Pending, send: () => Promise<void>, fail: () => void): void {
    p.timerE = this.timers.setTimeout(() => {
      if (p.done) return;
      send().catch(fail);
      // RFC 3261 §17.1.2.2: "the client transaction MUST reset the timer with a value of MIN(2*T1, T2)";
      // in Proceeding it retransmits every T2.
      p.intervalMs = p.proceeding ? this.config.t2Ms : Math.min(2 * p.intervalMs, this.config.t2Ms);
      this.armE(key, p, send, fail);
    }, p.proceeding ? this.config.t2Ms : p.intervalMs);
  }

  /** A response arrived; returns false when no transaction matches (a stray or late response). */
  receive(key: string, res: SipResponse): boolean {
    const p = this.pending.get(key);
    if (!p) return false;
    if (p.done) return true; // Completed: absorb retransmitted responses (Timer K)
    if (res.status < 200) {
      p.proceeding = true;
      return true;
    }
    this.finish(key, { status: res.status, response: res });
    return true;
  }

  private finish(key: string, outcome: ClientOutcome): void {
    const p = this.pending.get(key);
    if (!p || p.done) return;
    p.done = true;
    if (p.timerE) this.timers.clearTimeout(p.timerE);
    this.timers.clearTimeout(p.timerF);
    p.resolve(outcome);
    // Timer K: keep the key for T4 to absorb retransmitted responses, then forget it.
    const k = this.timers.setTimeout(() => this.pending.delete(key), this.config.t4Ms);
    k.unref?.();
  }

  stop(): void {
    for (const [key, p] of this.pending) {
      if (!p.done) this.finish(key, { status: 503, response: null });
    }
  }
}
