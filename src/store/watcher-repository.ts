/** Watcher records for watcher-info (RFC 3857 §3.1), in table `watchers`. */
import type { Knex } from 'knex';
import type { WatcherRecord } from '../presence/model';
import type { WatcherRepository } from '../presence/ports';
import { CTID, T, WAT, WAT_TYPES, watcherFromRow, watcherToRow, type Row } from './rows';
import { coalescing, insertUnnest, runPrepared } from './batch-sql';
import { Coalescer } from './coalescer';
import { deleteBatch } from './sql';

/** upsert is coalesced (coalescer.ts): the records of one turn share one INSERT … ON CONFLICT. */
export class KnexWatcherRepository implements WatcherRepository {
  private readonly upserts: Coalescer<WatcherRecord, void>;

  constructor(private readonly db: Knex) {
    // One row may be touched once per statement ("ON CONFLICT DO UPDATE command cannot affect row a second time").
    this.upserts = new Coalescer((ws) => this.upsertMany(ws), { ...coalescing(db), key: (w) => `${w.presentity}\0${w.event}\0${w.subscriptionId}` });
  }

  private table(): Knex.QueryBuilder {
    return this.db(T.watchers);
  }

  /** Keyed by (presentity, event, subscriptionId); an update keeps the original createdAt. */
  upsert(w: WatcherRecord): Promise<void> {
    return this.upserts.call(w);
  }

  private async upsertMany(ws: readonly WatcherRecord[]): Promise<void[]> {
    const update = [WAT.watcher, WAT.watcherDisplayName, WAT.status, WAT.lastEvent, WAT.updatedAt].map((c) => `"${c}" = EXCLUDED."${c}"`).join(', ');
    const { sql, values } = insertUnnest(T.watchers, WAT_TYPES, ws.map(watcherToRow),
      ` ON CONFLICT ("${WAT.presentity}", "${WAT.event}", "${WAT.subscriptionId}") DO UPDATE SET ${update}`);
    await runPrepared(this.db, sql, values);
    return ws.map(() => undefined);
  }

  async list(presentity: string, event: string): Promise<WatcherRecord[]> {
    const rows: Row[] = await this.table()
      .where({ [WAT.presentity]: presentity, [WAT.event]: event })
      .orderBy([WAT.createdAt, WAT.subscriptionId]);
    return rows.map(watcherFromRow);
  }

  async remove(presentity: string, event: string, subscriptionId: string): Promise<void> {
    await this.table()
      .where({ [WAT.presentity]: presentity, [WAT.event]: event, [WAT.subscriptionId]: subscriptionId })
      .del()
      .returning([WAT.subscriptionId]);
  }

  async prune(before: number, limit: number): Promise<number> {
    const rows = await deleteBatch(
      this.db,
      T.watchers,
      CTID,
      (q) => q.where(WAT.status, 'terminated').andWhere(WAT.updatedAt, '<', before),
      WAT.updatedAt,
      limit,
      [WAT.subscriptionId],
    );
    return rows.length;
  }
}
