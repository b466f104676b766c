/** Watcher records for watcher-info (RFC 3857 §3.1), in table `watchers`. */
import type { Knex } from 'knex';
import type { WatcherRecord } from '../presence/model';
import type { WatcherRepository } from '../presence/ports';
import { CTID, T, WAT, watcherFromRow, watcherToRow, type Row } from './rows';
import { deleteBatch } from './sql';

export class KnexWatcherRepository implements WatcherRepository {
  constructor(private readonly db: Knex) {}

  private table(): Knex.QueryBuilder {
    return this.db(T.watchers);
  }

  /** Keyed by (presentity, event, subscriptionId); an update keeps the original createdAt. */
  async upsert(w: WatcherRecord): Promise<void> {
    await this.table()
      .insert(watcherToRow(w))
      .onConflict([WAT.presentity, WAT.event, WAT.subscriptionId])
      .merge([WAT.watcher, WAT.watcherDisplayName, WAT.status, WAT.lastEvent, WAT.updatedAt]);
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
