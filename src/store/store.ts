/**
 * The Store port over knex (presence/ports.ts). DESIGN.md: "a reply is sent only after the change
 * is committed" — `transaction()` resolves only after COMMIT.
 *
 * PGlite has one connection (db.ts). Inside `transaction()` the work gets repositories bound to the
 * transaction; a call on the store's own (root) repositories from inside the work would queue behind
 * the open transaction forever on PGlite, and on PostgreSQL would silently escape the transaction.
 * Both are bugs, so such a call is rejected at once on both backends (tracked with AsyncLocalStorage).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Knex } from 'knex';
import type { Repositories, Store } from '../presence/ports';
import { KnexPresRuleRepository } from './pres-rule-repository';
import { KnexPublicationRepository } from './publication-repository';
import { KnexRegistrationRepository } from './registration-repository';
import { KnexSubscriptionRepository } from './subscription-repository';
import { KnexWatcherRepository } from './watcher-repository';

/** How long `ping()` waits for `select 1` before answering false. */
const PING_TIMEOUT_MS = 2_000;

/** Repositories bound to one knex: the root one, or a transaction. */
export function repositoriesFor(db: Knex): Repositories {
  return {
    publications: new KnexPublicationRepository(db),
    subscriptions: new KnexSubscriptionRepository(db),
    watchers: new KnexWatcherRepository(db),
    rules: new KnexPresRuleRepository(db),
    registrations: new KnexRegistrationRepository(db),
  };
}

/** Marks the async context of a running `transaction()` work; `open` turns false at commit/rollback. */
interface TxScope {
  open: boolean;
}

export class StoreMisuseError extends Error {
  override readonly name = 'StoreMisuseError';
}

/** Wrap every method so that it rejects when called from inside an open transaction of this store. */
function guarded<R extends object>(repo: R, scope: AsyncLocalStorage<TxScope>, name: string): R {
  const wrapped: Record<string, unknown> = {};
  let proto: object | null = repo;
  while (proto !== null && proto !== Object.prototype) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      const fn: unknown = (repo as Record<string, unknown>)[key];
      if (key === 'constructor' || key in wrapped || typeof fn !== 'function') continue;
      wrapped[key] = (...args: unknown[]): Promise<unknown> => {
        if (scope.getStore()?.open) {
          return Promise.reject(
            new StoreMisuseError(`store.${name}.${key}() called inside transaction(); use the tx repositories`),
          );
        }
        return (fn as (...a: unknown[]) => Promise<unknown>).apply(repo, args);
      };
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return wrapped as R;
}

class KnexStore implements Store {
  readonly publications: Repositories['publications'];
  readonly subscriptions: Repositories['subscriptions'];
  readonly watchers: Repositories['watchers'];
  readonly rules: Repositories['rules'];
  readonly registrations: Repositories['registrations'];
  private readonly scope = new AsyncLocalStorage<TxScope>();

  constructor(
    private readonly knex: Knex,
    private readonly guard: boolean,
  ) {
    const root = repositoriesFor(knex);
    const g = <R extends object>(r: R, name: string): R => (guard ? guarded(r, this.scope, name) : r);
    this.publications = g(root.publications, 'publications');
    this.subscriptions = g(root.subscriptions, 'subscriptions');
    this.watchers = g(root.watchers, 'watchers');
    this.rules = g(root.rules, 'rules');
    this.registrations = g(root.registrations, 'registrations');
  }

  /** Runs `work` in one transaction: COMMIT when it resolves, ROLLBACK (and rethrow) when it throws. */
  async transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T> {
    if (!this.guard) return this.knex.transaction((trx) => work(repositoriesFor(trx)));
    if (this.scope.getStore()?.open) {
      throw new StoreMisuseError('store.transaction() called inside transaction(); nest the work instead');
    }
    const txScope: TxScope = { open: true };
    try {
      return await this.knex.transaction((trx) => this.scope.run(txScope, () => work(repositoriesFor(trx))));
    } finally {
      txScope.open = false;
    }
  }

  async ping(): Promise<boolean> {
    try {
      await this.knex.raw('select 1').timeout(PING_TIMEOUT_MS);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.knex.destroy();
  }
}

/**
 * The Store over a knex made by `createKnex` (db.ts). `close()` destroys that knex.
 * `guard` (default on) rejects root-repository calls made inside `transaction()`; it uses
 * AsyncLocalStorage, whose promise hooks cost every promise in the process, so the server turns it
 * off and the test suites keep it on.
 */
export function createStore(knex: Knex, opts: { guard?: boolean } = {}): Store {
  return new KnexStore(knex, opts.guard ?? true);
}
