/**
 * Subscriptions (RFC 6665 dialogs) in table `active_watchers`. Reads take `now` from the injected
 * clock: a subscription is live while expiresAt > now and it is not terminated.
 */
import type { Knex } from 'knex';
import type { Subscription } from '../presence/model';
import type { SubscriptionRepository } from '../presence/ports';
import {
  SUB,
  T,
  countOf,
  subscriptionFromRow,
  subscriptionPatchToRow,
  subscriptionToRow,
  toNumber,
  type Row,
  type SubscriptionPatch,
} from './rows';
import { deleteBatch, likeLiteral } from './sql';

export class KnexSubscriptionRepository implements SubscriptionRepository {
  constructor(private readonly db: Knex) {}

  private table(): Knex.QueryBuilder {
    return this.db(T.subscriptions);
  }

  /** Live: not expired (by the caller's clock) and not terminated. */
  private live(q: Knex.QueryBuilder, now: number): Knex.QueryBuilder {
    return q.andWhere(SUB.expiresAt, '>', now).andWhereNot(SUB.state, 'terminated');
  }

  async insert(s: Subscription): Promise<void> {
    await this.table().insert(subscriptionToRow(s));
  }

  async byId(id: string): Promise<Subscription | undefined> {
    const row: Row | undefined = await this.table().where(SUB.id, id).first();
    return row && subscriptionFromRow(row);
  }

  /** RFC 3261 §12.2.2: an in-dialog request is matched by Call-ID, local tag and remote tag. */
  async byDialog(callId: string, localTag: string, remoteTag: string): Promise<Subscription | undefined> {
    const row: Row | undefined = await this.table()
      .where({ [SUB.callId]: callId, [SUB.localTag]: localTag, [SUB.remoteTag]: remoteTag })
      .first();
    return row && subscriptionFromRow(row);
  }

  async forPresentity(presentity: string, event: string, now: number): Promise<Subscription[]> {
    const q = this.table().where({ [SUB.presentity]: presentity, [SUB.event]: event });
    const rows: Row[] = await this.live(q, now).orderBy([SUB.createdAt, SUB.id]);
    return rows.map(subscriptionFromRow);
  }

  /** Same device = same Contact (remote target) or, when the watcher sent one, same +sip.instance. */
  async sameDevice(
    presentity: string,
    event: string,
    watcher: string,
    remoteTarget: string,
    instance: string | null,
  ): Promise<Subscription[]> {
    const rows: Row[] = await this.table()
      .where({ [SUB.presentity]: presentity, [SUB.event]: event, [SUB.watcher]: watcher })
      .andWhere((w) => {
        w.where(SUB.remoteTarget, remoteTarget);
        if (instance !== null) w.orWhere(SUB.contactInstance, instance);
      })
      .orderBy([SUB.createdAt, SUB.id]);
    return rows.map(subscriptionFromRow);
  }

  async update(id: string, patch: SubscriptionPatch): Promise<void> {
    const row = subscriptionPatchToRow(patch);
    if (Object.keys(row).length === 0) return;
    await this.table().where(SUB.id, id).update(row);
  }

  /** CSeq of the next NOTIFY, bumped atomically (DESIGN.md, Storage: `UPDATE … RETURNING`). */
  async nextCseq(id: string): Promise<number | undefined> {
    return this.bump(id, SUB.localCseq);
  }

  /** One UPDATE … WHERE id = ANY(…) RETURNING for a whole fan-out instead of one per watcher. */
  async nextCseqs(ids: readonly string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const rows: Row[] = await this.table()
      .whereRaw('?? = ANY(?)', [SUB.id, [...ids]])
      .increment(SUB.localCseq, 1)
      .returning([SUB.id, SUB.localCseq]);
    return new Map(rows.map((r) => [String(r[SUB.id]), toNumber(r[SUB.localCseq])]));
  }

  /** RFC 3858 §4: the watcherinfo version increases by one with every NOTIFY. */
  async nextVersion(id: string): Promise<number | undefined> {
    return this.bump(id, SUB.version);
  }

  private async bump(id: string, col: string): Promise<number | undefined> {
    const rows: Row[] = await this.table().where(SUB.id, id).increment(col, 1).returning([col]);
    const first = rows[0];
    return first === undefined ? undefined : toNumber(first[col]);
  }

  async remove(id: string): Promise<boolean> {
    const rows: Row[] = await this.table().where(SUB.id, id).del().returning([SUB.id]);
    return rows.length > 0;
  }

  async takeExpired(now: number, limit: number): Promise<Subscription[]> {
    const rows = await deleteBatch(this.db, T.subscriptions, SUB.id, (q) => q.where(SUB.expiresAt, '<=', now), SUB.expiresAt, limit);
    return rows.map(subscriptionFromRow).sort((a, b) => a.expiresAt - b.expiresAt);
  }

  /**
   * `watcher` is an AOR (`sip:bob@example.com`, exact match) or a domain (`example.com`, also
   * accepted as `sip:example.com`: every watcher AOR at that host). Live, non-terminated only: a
   * terminated subscription has nothing left to re-evaluate.
   */
  async forWatcher(presentity: string, watcher: string, now: number): Promise<Subscription[]> {
    const q = this.table().where(SUB.presentity, presentity);
    if (watcher.includes('@')) {
      q.andWhere(SUB.watcher, watcher);
    } else {
      const domain = watcher.replace(/^sips?:/i, '').toLowerCase();
      q.andWhere((w) => {
        w.where(SUB.watcher, 'like', `%@${likeLiteral(domain)}`).orWhere(SUB.watcher, `sip:${domain}`);
      });
    }
    const rows: Row[] = await this.live(q, now).orderBy([SUB.createdAt, SUB.id]);
    return rows.map(subscriptionFromRow);
  }

  async count(now: number): Promise<number> {
    const rows: Row[] = await this.live(this.table().count({ n: '*' }), now);
    return countOf(rows);
  }

  async countFor(presentity: string, event: string, now: number): Promise<number> {
    const rows: Row[] = await this.live(this.table().where({ [SUB.presentity]: presentity, [SUB.event]: event }).count({ n: '*' }), now);
    return countOf(rows);
  }
}
