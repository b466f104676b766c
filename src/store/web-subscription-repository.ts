/**
 * HTTP subscriptions, their members and their event log (issue 9) in tables web_subscriptions,
 * web_subscription_members and web_events. Events are numbered per subscription by bumping
 * last_seq under the subscription's row lock inside the transaction that inserts them, so seqs
 * commit in order: a reader that has seen seq n never later finds a new seq below n.
 */
import type { Knex } from 'knex';
import type { NewWebEvent, WebEvent, WebSubscription } from '../presence/model';
import type { WebSubscriptionRepository } from '../presence/ports';
import {
  CTID, T, WEV, WMEM, WSUB, countOf, toNumber, webEventFromRow, webEventToRow, webSubscriptionFromRow, webSubscriptionPatchToRow,
  webSubscriptionToRow, type Row,
} from './rows';
import { deleteBatch } from './sql';

const INSERT_CHUNK = 1000;

export class KnexWebSubscriptionRepository implements WebSubscriptionRepository {
  constructor(private readonly db: Knex) {}

  private subs(db: Knex = this.db): Knex.QueryBuilder {
    return db(T.webSubscriptions);
  }

  async insert(s: WebSubscription, members: readonly string[]): Promise<void> {
    await this.db.transaction(async (trx) => {
      await trx(T.webSubscriptions).insert(webSubscriptionToRow(s));
      if (members.length > 0) await trx(T.webMembers).insert(members.map((p) => ({ [WMEM.subscriptionId]: s.id, [WMEM.presentity]: p, [WMEM.lastStatus]: null, [WMEM.addedAt]: s.createdAt })));
    });
  }

  async byId(id: string): Promise<WebSubscription | undefined> {
    const row: Row | undefined = await this.subs().where(WSUB.id, id).first();
    return row && webSubscriptionFromRow(row);
  }

  async members(id: string): Promise<string[]> {
    const rows: Row[] = await this.db(T.webMembers).select(WMEM.presentity).where(WMEM.subscriptionId, id).orderBy(WMEM.presentity);
    return rows.map((r) => String(r[WMEM.presentity]));
  }

  async hasMember(id: string, presentity: string): Promise<boolean> {
    const row: Row | undefined = await this.db(T.webMembers).select(WMEM.presentity).where({ [WMEM.subscriptionId]: id, [WMEM.presentity]: presentity }).first();
    return row !== undefined;
  }

  async addMembers(id: string, presentities: readonly string[], now: number): Promise<string[]> {
    if (presentities.length === 0) return [];
    const rows: Row[] = await this.db(T.webMembers)
      .insert(presentities.map((p) => ({ [WMEM.subscriptionId]: id, [WMEM.presentity]: p, [WMEM.lastStatus]: null, [WMEM.addedAt]: now })))
      .onConflict([WMEM.subscriptionId, WMEM.presentity]).ignore().returning([WMEM.presentity]);
    return rows.map((r) => String(r[WMEM.presentity]));
  }

  async watchedPresentities(since: number | null, now: number): Promise<string[]> {
    const s = T.webSubscriptions;
    const q = this.db.distinct(`${T.webMembers}.${WMEM.presentity}`).from(T.webMembers)
      .join(s, `${s}.${WSUB.id}`, `${T.webMembers}.${WMEM.subscriptionId}`)
      .where(`${s}.${WSUB.state}`, 'active')
      .andWhereRaw('(?? IS NULL OR ?? > ?)', [`${s}.${WSUB.expiresAt}`, `${s}.${WSUB.expiresAt}`, now]);
    if (since !== null) q.andWhere(`${T.webMembers}.${WMEM.addedAt}`, '>=', since);
    const rows: Row[] = await q;
    return rows.map((r) => String(r[WMEM.presentity]));
  }

  async removeMembers(id: string, presentities: readonly string[]): Promise<void> {
    if (presentities.length === 0) return;
    await this.db(T.webMembers).where(WMEM.subscriptionId, id).whereIn(WMEM.presentity, [...presentities]).del();
  }

  async update(id: string, patch: Partial<Pick<WebSubscription, 'expiresAt' | 'warned' | 'updatedAt'>>): Promise<void> {
    const row = webSubscriptionPatchToRow(patch);
    if (Object.keys(row).length > 0) await this.subs().where(WSUB.id, id).update(row);
  }

  async remove(id: string): Promise<boolean> {
    const rows: Row[] = await this.subs().where(WSUB.id, id).del().returning([WSUB.id]);
    return rows.length > 0;
  }

  async watchersOf(presentity: string, now: number): Promise<Array<{ subscription: WebSubscription; lastStatus: string | null }>> {
    const s = T.webSubscriptions;
    const rows: Row[] = await this.db
      .select(`${s}.*`, `${T.webMembers}.${WMEM.lastStatus}`)
      .from(T.webMembers)
      .join(s, `${s}.${WSUB.id}`, `${T.webMembers}.${WMEM.subscriptionId}`)
      .where(`${T.webMembers}.${WMEM.presentity}`, presentity)
      .andWhere(`${s}.${WSUB.state}`, 'active')
      .andWhereRaw('(?? IS NULL OR ?? > ?)', [`${s}.${WSUB.expiresAt}`, `${s}.${WSUB.expiresAt}`, now])
      .orderBy(`${s}.${WSUB.id}`);
    return rows.map((r) => ({ subscription: webSubscriptionFromRow(r), lastStatus: (r[WMEM.lastStatus] as string | null) ?? null }));
  }

  async append(events: readonly NewWebEvent[]): Promise<WebEvent[]> {
    if (events.length === 0) return [];
    return this.db.transaction((trx) => appendIn(trx, events));
  }

  async after(id: string, after: number, limit: number): Promise<WebEvent[]> {
    const rows: Row[] = await this.db(T.webEvents).where(WEV.subscriptionId, id).andWhere(WEV.seq, '>', after).orderBy(WEV.seq).limit(Math.max(1, Math.floor(limit)));
    return rows.map(webEventFromRow);
  }

  async oldestSeq(id: string): Promise<number | null> {
    const row: Row | undefined = await this.db(T.webEvents).where(WEV.subscriptionId, id).min({ n: WEV.seq }).first();
    return row?.n === null || row?.n === undefined ? null : toNumber(row.n);
  }

  async lastSeqs(ids: readonly string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const rows: Row[] = await this.subs().select(WSUB.id, WSUB.lastSeq).whereIn(WSUB.id, [...ids]);
    return new Map(rows.map((r) => [String(r[WSUB.id]), toNumber(r[WSUB.lastSeq])]));
  }

  async warnDue(now: number, before: number, limit: number): Promise<WebEvent[]> {
    return this.db.transaction(async (trx) => {
      const ids = await claim(trx, (q) => q.where(WSUB.warned, false).andWhere(WSUB.expiresAt, '<=', before), limit);
      if (ids.length === 0) return [];
      await trx(T.webSubscriptions).whereIn(WSUB.id, ids).update({ [WSUB.warned]: true, [WSUB.updatedAt]: now });
      return appendIn(trx, ids.map((id) => ({ subscriptionId: id, type: 'expiring' as const, uri: null, status: null, at: now })));
    });
  }

  async endDue(now: number, limit: number): Promise<WebEvent[]> {
    return this.db.transaction(async (trx) => {
      const ids = await claim(trx, (q) => q.andWhere(WSUB.expiresAt, '<=', now), limit);
      if (ids.length === 0) return [];
      await trx(T.webSubscriptions).whereIn(WSUB.id, ids).update({ [WSUB.state]: 'ended', [WSUB.updatedAt]: now });
      return appendIn(trx, ids.map((id) => ({ subscriptionId: id, type: 'ended' as const, uri: null, status: null, at: now })));
    });
  }

  async prune(before: number, limit: number): Promise<number> {
    const events = await deleteBatch(this.db, T.webEvents, CTID, (q) => q.where(WEV.at, '<', before), WEV.at, limit, [WEV.seq]);
    await deleteBatch(this.db, T.webSubscriptions, WSUB.id, (q) => q.where(WSUB.state, 'ended').andWhere(WSUB.updatedAt, '<', before), WSUB.updatedAt, limit, [WSUB.id]);
    return events.length;
  }

  async webhooksDue(now: number, limit: number): Promise<WebSubscription[]> {
    const rows: Row[] = await this.subs()
      .whereNotNull(WSUB.webhookUrl)
      .andWhere(WSUB.lastSeq, '>', this.db.ref(WSUB.webhookSeq))
      .andWhere(WSUB.webhookNextAt, '<=', now)
      .andWhere(WSUB.webhookLeaseUntil, '<=', now)
      .orderBy(WSUB.webhookNextAt).limit(Math.max(1, Math.floor(limit)));
    return rows.map(webSubscriptionFromRow);
  }

  async leaseWebhook(id: string, now: number, until: number): Promise<boolean> {
    const rows: Row[] = await this.subs().where(WSUB.id, id).andWhere(WSUB.webhookLeaseUntil, '<=', now)
      .update({ [WSUB.webhookLeaseUntil]: until }).returning([WSUB.id]);
    return rows.length > 0;
  }

  async webhookDone(id: string, seq: number, attempts: number, nextAt: number): Promise<void> {
    await this.subs().where(WSUB.id, id).update({
      [WSUB.webhookSeq]: this.db.raw('GREATEST(??, ?)', [WSUB.webhookSeq, seq]),
      [WSUB.webhookAttempts]: attempts, [WSUB.webhookNextAt]: nextAt, [WSUB.webhookLeaseUntil]: 0,
    });
  }

  /** Live subscriptions in total (metrics, tests). */
  async count(): Promise<number> {
    return countOf(await this.subs().where(WSUB.state, 'active').count({ n: '*' }));
  }
}

/** Active subscriptions with an end, matching `pick`, locked for this transaction (one claimer per row across nodes). */
async function claim(trx: Knex.Transaction, pick: (q: Knex.QueryBuilder) => Knex.QueryBuilder, limit: number): Promise<string[]> {
  const q = trx(T.webSubscriptions).select(WSUB.id).where(WSUB.state, 'active').whereNotNull(WSUB.expiresAt);
  const rows: Row[] = await pick(q).orderBy(WSUB.expiresAt).limit(Math.max(1, Math.floor(limit))).forUpdate().skipLocked();
  return rows.map((r) => String(r[WSUB.id]));
}

/** Number and insert events (see the file comment); presence events also record the member's last status. */
async function appendIn(trx: Knex.Transaction, events: readonly NewWebEvent[]): Promise<WebEvent[]> {
  const bySub = new Map<string, NewWebEvent[]>();
  for (const e of events) {
    const list = bySub.get(e.subscriptionId);
    if (list) list.push(e);
    else bySub.set(e.subscriptionId, [e]);
  }
  const ids = [...bySub.keys()].sort();
  // Lock in id order: two appends touching the same subscriptions cannot deadlock.
  await trx(T.webSubscriptions).select(WSUB.id).whereIn(WSUB.id, ids).orderBy(WSUB.id).forUpdate();
  const byCount = new Map<number, string[]>();
  for (const id of ids) {
    const k = (bySub.get(id) as NewWebEvent[]).length;
    byCount.set(k, [...(byCount.get(k) ?? []), id]);
  }
  const base = new Map<string, number>();
  for (const [k, group] of byCount) {
    const rows: Row[] = await trx(T.webSubscriptions).whereIn(WSUB.id, group)
      .update({ [WSUB.lastSeq]: trx.raw('?? + ?', [WSUB.lastSeq, k]) }).returning([WSUB.id, WSUB.lastSeq]);
    for (const r of rows) base.set(String(r[WSUB.id]), toNumber(r[WSUB.lastSeq]) - k);
  }
  const out: WebEvent[] = [];
  for (const id of ids) {
    const start = base.get(id);
    if (start === undefined) continue; // the subscription is gone
    (bySub.get(id) as NewWebEvent[]).forEach((e, i) => out.push({ ...e, seq: start + 1 + i }));
  }
  for (let i = 0; i < out.length; i += INSERT_CHUNK) await trx(T.webEvents).insert(out.slice(i, i + INSERT_CHUNK).map(webEventToRow));
  const statusGroups = new Map<string, { uri: string; status: string; ids: string[] }>();
  for (const e of out) {
    if (e.type !== 'presence' || e.uri === null || e.status === null) continue;
    const key = `${e.uri}\n${e.status}`;
    const g = statusGroups.get(key) ?? { uri: e.uri, status: e.status, ids: [] };
    g.ids.push(e.subscriptionId);
    statusGroups.set(key, g);
  }
  for (const g of statusGroups.values()) {
    await trx(T.webMembers).where(WMEM.presentity, g.uri).whereIn(WMEM.subscriptionId, g.ids).update({ [WMEM.lastStatus]: g.status });
  }
  return out;
}
