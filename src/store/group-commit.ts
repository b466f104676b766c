/**
 * Group commit (DESIGN.md, the hot path): handlers don't each open a transaction; their works are
 * gathered (coalescer.ts) and run inside ONE database transaction, and every waiting request is
 * resolved when that transaction commits. One fsync and one BEGIN/COMMIT serve the whole batch.
 *
 * The works of a batch run concurrently, so the repositories' coalescers (coalescer.ts) merge their
 * statements: N PUBLISHes of one batch cost one INSERT, one UPDATE and one DELETE, not N statements.
 *
 * Failure isolation without savepoints (they would double the round trips): the repositories a work
 * gets count its writes. A work that throws before writing anything (a 412, a 481) simply rejects
 * and the batch goes on. A work that throws after writing, or any database error, poisons the batch:
 * it is rolled back and every work of it is run again alone in its own transaction, so each request
 * gets exactly the outcome it would have had without batching.
 */
import { isPresenceError } from '../errors';
import type { Repositories, Store } from '../presence/ports';
import { Coalescer } from './coalescer';

type Work = (tx: Repositories) => Promise<unknown>;

export interface GroupCommitOptions {
  /** Most works in one transaction. */
  maxBatch: number;
  /** Batches (transactions) in flight at once: at most the connections the backend has. */
  maxInFlight: number;
}

/** Repository methods that only read; every other method counts as a write. */
const READS = new Set(['live', 'byEtag', 'byClient', 'presentities', 'byId', 'byDialog', 'forPresentity', 'sameDevice', 'forWatcher', 'count', 'countFor', 'list', 'ruleFor']);

/** Writes whose result says whether they changed a row (undefined/false: nothing written). */
const CONDITIONAL = new Set(['publications.updateLive', 'publications.removeLive', 'publications.replace', 'publications.remove', 'subscriptions.remove', 'subscriptions.take', 'rules.remove']);

class Poisoned extends Error {}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

const settle = (p: Promise<unknown>): Promise<Outcome> => p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));

export class GroupCommitStore implements Store {
  readonly publications: Store['publications'];
  readonly subscriptions: Store['subscriptions'];
  readonly watchers: Store['watchers'];
  readonly rules: Store['rules'];
  readonly registrations: Store['registrations'];
  /** The works of one turn (datagrams read together) gathered into batches, one transaction each. */
  private readonly batches: Coalescer<Work, Outcome>;
  /** Counters for benchmarks and metrics. */
  readonly stats = { batches: 0, works: 0, poisoned: 0 };

  constructor(
    private readonly inner: Store,
    o: GroupCommitOptions,
  ) {
    this.publications = inner.publications;
    this.subscriptions = inner.subscriptions;
    this.watchers = inner.watchers;
    this.rules = inner.rules;
    this.registrations = inner.registrations;
    this.batches = new Coalescer((works) => this.run(works), { maxBatch: o.maxBatch, maxInFlight: o.maxInFlight });
  }

  async transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T> {
    const o = await this.batches.call(work);
    if (o.ok) return o.value as T;
    throw o.error;
  }

  private async run(batch: readonly Work[]): Promise<Outcome[]> {
    this.stats.batches++;
    this.stats.works += batch.length;
    if (batch.length === 1) return [await settle(this.inner.transaction(batch[0] as Work))];
    let outcomes: Outcome[] = [];
    try {
      await this.inner.transaction(async (tx) => {
        // The works run side by side: their statements of one turn are coalesced into one each
        // (coalescer.ts). They touch different presentities (each holds its presentity's lock until
        // this commit), so any interleaving equals running them one after another.
        const settled = await Promise.allSettled(batch.map(async (work): Promise<Outcome> => {
          const counted = countingWrites(tx);
          try {
            return { ok: true, value: await work(counted.repos) };
          } catch (error) {
            // Only a domain refusal before any write leaves the transaction usable; a database error
            // (even in a read) aborts it on PostgreSQL.
            if (counted.writes() > 0 || !isPresenceError(error)) throw new Poisoned();
            return { ok: false, error };
          }
        }));
        outcomes = settled.map((o) => {
          if (o.status === 'rejected') throw new Poisoned();
          return o.value;
        });
      });
      return outcomes;
    } catch {
      // Rolled back: each work alone, in arrival order, with its own outcome.
      this.stats.poisoned++;
      const alone: Outcome[] = [];
      for (const work of batch) alone.push(await settle(this.inner.transaction(work)));
      return alone;
    }
  }

  ping(): Promise<boolean> {
    return this.inner.ping();
  }

  async close(): Promise<void> {
    while (!this.batches.idle) await new Promise((r) => setTimeout(r, 5));
    await this.inner.close();
  }
}

function countingWrites(tx: Repositories): { repos: Repositories; writes: () => number } {
  let writes = 0;
  const wrap = <R extends object>(repo: R, name: string): R =>
    new Proxy(repo, {
      get(target, key, receiver) {
        const v: unknown = Reflect.get(target, key, receiver);
        if (typeof v !== 'function' || typeof key !== 'string') return v;
        return (...args: unknown[]) => {
          const result = (v as (...a: unknown[]) => unknown).apply(target, args);
          // A conditional write that matched no row wrote nothing: a 412 after it leaves the batch clean.
          if (CONDITIONAL.has(`${name}.${key}`)) return (result as Promise<unknown>).then((r) => ((r ? writes++ : 0), r));
          if (!READS.has(key)) writes++;
          return result;
        };
      },
    });
  return {
    repos: {
      publications: wrap(tx.publications, 'publications'), subscriptions: wrap(tx.subscriptions, 'subscriptions'),
      watchers: wrap(tx.watchers, 'watchers'), rules: wrap(tx.rules, 'rules'), registrations: wrap(tx.registrations, 'registrations'),
    },
    writes: () => writes,
  };
}
