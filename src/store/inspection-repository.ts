/**
 * Read-only listings for the HTTP API and /admin (presence/inspection.ts): counts, offset ranges
 * (the `Range: records=i-j` of seed 004) and keyset pages. Column names from rows.ts.
 */
import type { Knex } from 'knex';
import type { Publication, Subscription, WatcherRecord } from '../presence/model';
import type {
  InspectionRepository, PresentityFilter, PublicationFilter, SubscriptionFilter, WatcherFilter,
} from '../presence/inspection';
import {
  PUB, SUB, T, WAT, countOf, publicationFromRow, subscriptionFromRow, watcherFromRow, type Row,
} from './rows';
import { likeLiteral } from './sql';

export class KnexInspectionRepository implements InspectionRepository {
  constructor(private readonly db: Knex) {}

  /** Live publications, optionally of one domain (the host part of the canonical AOR). */
  private livePublications(f: PresentityFilter): Knex.QueryBuilder {
    const q = this.db(T.publications).where(PUB.expiresAt, '>', f.now);
    if (f.domain !== undefined) q.andWhere(PUB.presentity, 'like', `%@${likeLiteral(f.domain.toLowerCase())}`);
    if (f.event !== undefined) q.andWhere(PUB.event, f.event);
    return q;
  }

  async countPresentities(f: PresentityFilter): Promise<number> {
    const rows: Row[] = await this.livePublications(f).countDistinct({ n: PUB.presentity });
    return countOf(rows);
  }

  async presentityRange(f: PresentityFilter & { offset: number; limit: number }): Promise<string[]> {
    if (!(f.limit > 0)) return [];
    const rows: Row[] = await this.livePublications(f)
      .distinct(PUB.presentity)
      // The column's "C" collation gives the same byte order on every server.
      .orderBy(PUB.presentity)
      .offset(Math.max(0, Math.floor(f.offset)))
      .limit(Math.floor(f.limit));
    return rows.map((r) => String(r[PUB.presentity]));
  }

  async liveOf(presentities: readonly string[], event: string, now: number): Promise<Publication[]> {
    if (presentities.length === 0) return [];
    const rows: Row[] = await this.db(T.publications)
      .whereIn(PUB.presentity, [...presentities])
      .andWhere(PUB.event, event)
      .andWhere(PUB.expiresAt, '>', now)
      .orderBy([PUB.receivedAt, PUB.etag]);
    return rows.map(publicationFromRow);
  }

  async publications(f: PublicationFilter): Promise<Publication[]> {
    if (!(f.limit > 0)) return [];
    const q = this.livePublications(f);
    if (f.presentity !== undefined) q.andWhere(PUB.presentity, f.presentity);
    if (f.source !== undefined) q.andWhere(PUB.source, f.source);
    const after = f.after;
    if (after !== undefined) q.andWhereRaw('(??, ??) > (?, ?)', [PUB.presentity, PUB.etag, after.presentity, after.etag]);
    const rows: Row[] = await q.orderBy([PUB.presentity, PUB.etag]).limit(Math.floor(f.limit));
    return rows.map(publicationFromRow);
  }

  async subscriptions(f: SubscriptionFilter): Promise<Subscription[]> {
    if (!(f.limit > 0)) return [];
    const q = this.db(T.subscriptions);
    if (f.presentity !== undefined) q.where(SUB.presentity, f.presentity);
    if (f.watcher !== undefined) q.where(SUB.watcher, f.watcher);
    if (f.event !== undefined) q.where(SUB.event, f.event);
    if (f.state !== undefined) q.where(SUB.state, f.state);
    if (f.after !== undefined) q.where(SUB.id, '>', f.after);
    const rows: Row[] = await q.orderBy(SUB.id).limit(Math.floor(f.limit));
    return rows.map(subscriptionFromRow);
  }

  async watchers(f: WatcherFilter): Promise<WatcherRecord[]> {
    if (!(f.limit > 0)) return [];
    const q = this.db(T.watchers);
    if (f.presentity !== undefined) q.where(WAT.presentity, f.presentity);
    if (f.watcher !== undefined) q.where(WAT.watcher, f.watcher);
    if (f.status !== undefined) q.where(WAT.status, f.status);
    const after = f.after;
    if (after !== undefined) {
      // Row-value comparison: (presentity, event, subscription_id) > (?, ?, ?).
      q.andWhereRaw('(??, ??, ??) > (?, ?, ?)', [WAT.presentity, WAT.event, WAT.subscriptionId, after.presentity, after.event, after.subscriptionId]);
    }
    const rows: Row[] = await q.orderBy([WAT.presentity, WAT.event, WAT.subscriptionId]).limit(Math.floor(f.limit));
    return rows.map(watcherFromRow);
  }
}
