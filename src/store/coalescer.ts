/**
 * Coalescing (DESIGN.md, the hot path: "read what you need once"): calls of one repository method
 * that arrive in the same turn of the event loop are answered by ONE statement. A PUBLISH cycle's
 * fan-out reads, the CSeq bumps of many NOTIFYs and the writes of a group-commit batch each cost a
 * round trip, query building and result parsing per call; merged, they cost that once per turn.
 *
 * - `load` gets the arguments of up to `maxBatch` calls and returns one result per argument, in order.
 * - A call whose `key` equals the key of a call already in the gathering batch, or in a statement still
 *   running, waits for a later one: two bumps of the same CSeq, or two writes of the same row, are never
 *   merged into one statement and run in the order they were called.
 * - At most `maxInFlight` statements run at once (1 inside a transaction: one connection); calls made
 *   meanwhile gather for the next statement, so the batches grow with the load.
 * - A failed statement rejects every call it carried.
 */
type Settle<R> = { resolve: (r: R) => void; reject: (e: unknown) => void };

interface Call<A, R> extends Settle<R> {
  arg: A;
  key: string | undefined;
}

export interface CoalescerOptions<A> {
  maxBatch: number;
  maxInFlight: number;
  /** Calls with the same key never share a statement; undefined: always mergeable. */
  key?: (arg: A) => string;
}

export class Coalescer<A, R> {
  private queue: Array<Call<A, R>> = [];
  private inFlight = 0;
  private scheduled = false;
  /** Keys of the calls in running statements. */
  private readonly running = new Set<string>();

  constructor(
    private readonly load: (args: A[]) => Promise<R[]>,
    private readonly o: CoalescerOptions<A>,
  ) {}

  /** Nothing waiting and nothing running (a graceful close waits for this). */
  get idle(): boolean {
    return this.queue.length === 0 && this.inFlight === 0;
  }

  call(arg: A): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ arg, key: this.o.key?.(arg), resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.o.maxInFlight) return;
    this.scheduled = true;
    // After every callback of this turn (the datagrams read together, the works of a batch) has run.
    setImmediate(() => {
      this.scheduled = false;
      while (this.queue.length > 0 && this.inFlight < this.o.maxInFlight) {
        const batch = this.take();
        if (batch.length === 0) break; // every waiting call's key is running: its statement's end reschedules
        this.flush(batch);
      }
    });
  }

  /** The next batch: up to maxBatch calls in arrival order, skipping (not reordering past) a busy key. */
  private take(): Array<Call<A, R>> {
    if (!this.o.key) return this.queue.splice(0, this.o.maxBatch);
    const batch: Array<Call<A, R>> = [];
    const rest: Array<Call<A, R>> = [];
    const keys = new Set<string>();
    for (const c of this.queue) {
      // Once a key is taken, later calls with that key keep their order behind it.
      const busy = c.key !== undefined && (keys.has(c.key) || this.running.has(c.key));
      if (batch.length >= this.o.maxBatch || busy) {
        rest.push(c);
        continue;
      }
      if (c.key !== undefined) keys.add(c.key);
      batch.push(c);
    }
    this.queue = rest;
    for (const k of keys) this.running.add(k);
    return batch;
  }

  private flush(batch: Array<Call<A, R>>): void {
    this.inFlight++;
    const settle = (results: R[]): void => {
      batch.forEach((c, i) => c.resolve(results[i] as R));
    };
    const fail = (e: unknown): void => {
      for (const c of batch) c.reject(e);
    };
    // An async wrapper: a load that throws synchronously rejects like one that fails later.
    const run = async (): Promise<R[]> => this.load(batch.map((c) => c.arg));
    void run().then((results) => {
      if (results.length !== batch.length) throw new Error(`coalescer: ${results.length} results for ${batch.length} calls`);
      settle(results);
    }).catch(fail).finally(() => {
      this.inFlight--;
      for (const c of batch) if (c.key !== undefined) this.running.delete(c.key);
      if (this.queue.length > 0) this.schedule();
    });
  }
}
