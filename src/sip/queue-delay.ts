/**
 * A bound on how long requests wait, not only on how many (issue 10, overload). `max_in_flight`
 * bounds the count; when Herald gets too little CPU or the database is slow, requests inside that
 * count can still wait seconds, clients retransmit (RFC 3261 §17.1.2.2) and the work only grows.
 *
 * CoDel-style: a single slow request says little, a standing queue says everything. When every
 * request handled during `intervalMs` took longer than `boundMs`, new requests are refused (503 with
 * Retry-After, RFC 3261 §21.5.4: "The server is temporarily unable to process the request due to a
 * temporary overloading") until one is handled within the bound again, or nothing is in flight.
 */
export class QueueDelay {
  /** When the current run of slow requests began (NaN: the last request was fast). */
  private slowSince = Number.NaN;
  private shedding = false;
  /** Requests refused because of the delay (metrics). */
  refused = 0;

  constructor(private readonly o: { boundMs: number; intervalMs: number }) {}

  /** Told of every request handled: how long it took from arrival to its answer. */
  handled(tookMs: number, now: number): void {
    if (this.o.boundMs <= 0) return;
    if (tookMs <= this.o.boundMs) {
      this.slowSince = Number.NaN;
      this.shedding = false;
      return;
    }
    if (Number.isNaN(this.slowSince)) this.slowSince = now;
    else if (now - this.slowSince >= this.o.intervalMs) this.shedding = true;
  }

  /** Whether a new request should be refused now, given the requests being handled. */
  shed(inFlight: number): boolean {
    if (!this.shedding) return false;
    // With nothing in flight there is no queue left to wait in: let the next one probe.
    if (inFlight === 0) {
      this.shedding = false;
      this.slowSince = Number.NaN;
      return false;
    }
    this.refused++;
    return true;
  }
}
