/**
 * Multi-row statements for coalesced calls (coalescer.ts): the arguments of N calls travel as typed
 * arrays, `unnest(…) WITH ORDINALITY` turns them into a keyed relation `k`, and the statement joins
 * (or updates, or deletes) the table against it. The SQL text is the same for 1 or 500 calls, and
 * the ordinality column `k_i` (1-based) says which call each returned row belongs to.
 * Runs unchanged on PostgreSQL and PGlite. Column and table names come from rows.ts.
 */
import type { Knex } from 'knex';
import { toNumber, type ColumnType, type Row } from './rows';

/** A column of `k`: its name and PostgreSQL element type. */
export type KeyColumn = readonly [name: string, type: ColumnType];

export interface Keyed {
  /** `unnest(?::text[], …) WITH ORDINALITY AS k(k_a, …, k_i)` */
  sql: string;
  bindings: unknown[];
}

/** The relation `k` of `tuples` (one per call; tuple[j] is the value of cols[j]). */
export function keyed(cols: readonly KeyColumn[], tuples: readonly (readonly unknown[])[]): Keyed {
  const arrays = cols.map((_, j) => tuples.map((t) => t[j] ?? null));
  const args = cols.map(([, type]) => `?::${type}[]`).join(', ');
  const names = [...cols.map(([name]) => `k_${name}`), 'k_i'].join(', ');
  return { sql: `unnest(${args}) WITH ORDINALITY AS k(${names})`, bindings: arrays };
}

/** The rows of a keyed statement grouped by call: result[i] holds the rows of call i (0-based), in row order. */
export function byCall(rows: readonly Row[], calls: number): Row[][] {
  const out: Row[][] = Array.from({ length: calls }, () => []);
  for (const r of rows) {
    const i = toNumber(r.k_i) - 1;
    const bucket = out[i];
    if (bucket === undefined) throw new Error(`store: keyed row for call ${i + 1} of ${calls}`);
    bucket.push(r);
  }
  return out;
}

/** A node-postgres connection as knex hands it out (only what the fast path uses). */
interface PgConnection {
  query(q: { name: string; text: string; values: unknown[] }): Promise<{ rows: Row[] }>;
}

interface KnexClient {
  /** 'pg' for node-postgres; knex-pglite passes its client class here. */
  config: { client?: unknown };
  acquireConnection(): Promise<unknown>;
  releaseConnection(c: unknown): Promise<unknown>;
}

/** Prepared statement text and name per keyed statement (the texts are constants: a small, bounded map). */
const prepared = new Map<string, { name: string; text: string }>();

function preparedFor(sql: string): { name: string; text: string } {
  let p = prepared.get(sql);
  if (!p) {
    let n = 0;
    p = { name: `herald_k${prepared.size + 1}`, text: sql.replace(/\?/g, () => `$${++n}`) };
    prepared.set(sql, p);
  }
  return p;
}

/**
 * Run a keyed statement: `{k}` in `sql` stands for the relation; bindings before and after it are given.
 * On PostgreSQL it bypasses knex's query building (a third of the CPU per statement in the profile) and
 * runs as a named prepared statement, parsed and planned once per connection; on PGlite through knex.
 */
export async function runKeyed(db: Knex, sql: string, k: Keyed, before: unknown[] = [], after: unknown[] = []): Promise<Row[]> {
  return runPrepared(db, sql.replace('{k}', k.sql), [...before, ...k.bindings, ...after]);
}

/**
 * Run a statement whose text is a constant (`?` placeholders): on PostgreSQL as a named prepared
 * statement on the raw connection, bypassing knex's query building; on PGlite through knex.
 */
export async function runPrepared(db: Knex, sql: string, values: unknown[]): Promise<Row[]> {
  const client = (db as unknown as { client: KnexClient }).client;
  if (client.config.client !== 'pg') {
    const result = await db.raw<{ rows: Row[] }>(sql, values as Knex.RawBinding[]);
    return result.rows;
  }
  const conn = (await client.acquireConnection()) as PgConnection;
  try {
    const { name, text } = preparedFor(sql);
    return (await conn.query({ name, text, values })).rows;
  } finally {
    await client.releaseConnection(conn);
  }
}

/** `INSERT INTO table (cols) SELECT * FROM unnest(…)`: N rows in one statement whose text does not depend on N. */
export function insertUnnest(table: string, cols: readonly KeyColumn[], rows: readonly Row[], suffix = ''): { sql: string; values: unknown[] } {
  const names = cols.map(([c]) => `"${c}"`).join(', ');
  const args = cols.map(([, type]) => `?::${type}[]`).join(', ');
  return { sql: `INSERT INTO "${table}" (${names}) SELECT * FROM unnest(${args})${suffix}`, values: cols.map(([c]) => rows.map((r) => r[c] ?? null)) };
}

/** The first row of each call, or undefined. */
export function firstOfEach(groups: readonly Row[][]): Array<Row | undefined> {
  return groups.map((g) => g[0]);
}

/** Whether a knex is bound to a transaction (one connection: one coalesced statement at a time). */
export function inTransaction(db: Knex): boolean {
  return (db as unknown as { isTransaction?: boolean }).isTransaction === true;
}

/** Coalescer bounds for a repository on this knex: root statements share the pool, a transaction has one connection. */
export function coalescing(db: Knex): { maxBatch: number; maxInFlight: number } {
  return { maxBatch: 500, maxInFlight: inTransaction(db) ? 1 : 4 };
}
