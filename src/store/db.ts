/**
 * One knex for both backends (DESIGN.md, Storage): PostgreSQL in production (`postgres://…`), PGlite
 * embedded otherwise (a data directory, or `memory://` for throw-away runs).
 *
 * Measured differences the store normalises (keep this list in sync with rows.ts and the repositories):
 * - bigint/count: node-postgres returns strings, PGlite numbers → rows.ts `toNumber` for every one.
 * - `del()`/raw results: knex-pglite reports a DELETE as command `DEL`, so knex hands back the raw
 *   result object instead of a count → repositories delete with `RETURNING` and count the rows.
 * - connections: PGlite has exactly ONE, so while a transaction is open every other query waits for it;
 *   a query on the root knex issued from inside that transaction would wait forever → store.ts runs
 *   `transaction()` work on trx-bound repositories only and rejects root calls made from inside it.
 */
import { mkdirSync } from 'node:fs';
import { knex as createKnexInstance, type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { PGlite } from '@electric-sql/pglite';

/**
 * The embedded server's footprint: PostgreSQL's defaults (shared_buffers 128MB…) are sized for a
 * dedicated server; inside Herald's process they are wasm memory that never shrinks. Measured on a
 * fresh in-memory database: RSS 807 MB → 679 MB after start. Herald's working set is small rows and
 * short transactions, so the smaller buffers cost nothing measurable.
 */
export const PGLITE_CONF: readonly string[] = ['shared_buffers = 16MB', 'wal_buffers = 1MB', 'work_mem = 1MB', 'maintenance_work_mem = 8MB'];

export type Backend = 'postgres' | 'pglite';

/** Which backend a db url selects. */
export function backendOf(dbUrl: string): Backend {
  return /^postgres(ql)?:\/\//i.test(dbUrl) ? 'postgres' : 'pglite';
}

/** `memory://` → undefined (in-memory PGlite); `file://dir` or `dir` → the data directory. */
export function pgliteDataDir(dbUrl: string): string | undefined {
  if (/^memory:\/\//i.test(dbUrl)) return undefined;
  const dir = dbUrl.replace(/^file:\/\//i, '');
  if (dir === '') throw new Error('db url names no PGlite data directory');
  return dir;
}

/** A knex over PostgreSQL (pool 0..10) or PGlite (its single connection), chosen by the url. */
export function createKnex(dbUrl: string): Knex {
  if (backendOf(dbUrl) === 'postgres') {
    return createKnexInstance({
      client: 'pg',
      connection: dbUrl,
      pool: { min: 0, max: 10 },
      acquireConnectionTimeout: 10_000,
    });
  }
  const dir = pgliteDataDir(dbUrl);
  if (dir !== undefined) mkdirSync(dir, { recursive: true });
  // knex-pglite fixes the pool at exactly one connection and refuses a `pool` option.
  return createKnexInstance({
    client: ClientPgLite,
    dialect: 'postgres',
    connection: { pglite: new PGlite({ ...(dir === undefined ? {} : { dataDir: dir }), postgresqlconf: [...PGLITE_CONF] }) } as unknown as Knex.StaticConnectionConfig,
  });
}
