/**
 * Small SQL building blocks shared by the repositories. Column and table names come from rows.ts.
 */
import type { Knex } from 'knex';
import type { Row } from './rows';

/**
 * Delete up to `limit` rows picked by `pick` and return them (the columns in `returning`).
 * Safe on several Herald nodes sharing one PostgreSQL (DESIGN.md, Several nodes): the rows are
 * locked with FOR UPDATE SKIP LOCKED, so concurrent callers take disjoint rows, and a row another
 * caller deleted meanwhile is skipped, so each row is returned to exactly one caller.
 * `key = ANY(ARRAY(subquery))` keeps the outer side a TID/index scan (checked with EXPLAIN).
 * PGlite runs the same SQL; with its single connection the callers are simply serialised.
 */
export async function deleteBatch(
  db: Knex,
  table: string,
  key: string,
  pick: (q: Knex.QueryBuilder) => Knex.QueryBuilder,
  orderBy: string,
  limit: number,
  returning: readonly string[] | '*' = '*',
): Promise<Row[]> {
  if (!(limit > 0)) return [];
  const picked = pick(db(table).select(key)).orderBy(orderBy).limit(Math.floor(limit)).forUpdate().skipLocked();
  const ret = returning === '*' ? '*' : returning.map(() => '??').join(', ');
  const bindings = returning === '*' ? [] : [...returning];
  const result = await db.raw<{ rows: Row[] }>(`DELETE FROM ?? WHERE ?? = ANY(ARRAY(?)) RETURNING ${ret}`, [
    table,
    key,
    picked,
    ...bindings,
  ]);
  return result.rows;
}

/** Escape LIKE wildcards so a domain or AOR matches literally (default escape character `\`). */
export function likeLiteral(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
