/**
 * Subscriptions (RFC 6665 dialogs) in table `active_watchers`. Reads take `now` from the injected
 * clock: a subscription is live while expiresAt > now and it is not terminated.
 */
import type { Knex } from 'knex';
import type { Subscription } from '../presence/model';
import type { SubscriptionRepository } from '../presence/ports';
import {
  SUB,
  SUB_TYPES,
  T,
  countOf,
  subscriptionFromRow,
  subscriptionPatchToRow,
  subscriptionToRow,
  toNumber,
  type Row,
  type SubscriptionPatch,
} from './rows';
import { byCall, coalescing, firstOfEach, insertUnnest, keyed, runKeyed, runPrepared, type KeyColumn } from './batch-sql';
import { Coalescer } from './coalescer';
import { deleteBatch, likeLiteral } from './sql';

type ForKey = readonly [presentity: string, event: string, now: number];
type DialogKey = readonly [callId: string, localTag: string, remoteTag: string];
type Update = readonly [id: string, patch: SubscriptionPatch];
type DeviceKey = readonly [presentity: string, event: string, watcher: string, remoteTarget: string, instance: string | null];

const FOR_K: readonly KeyColumn[] = [['presentity', 'text'], ['event', 'text'], ['now', 'bigint']];
const DEVICE_K: readonly KeyColumn[] = [['presentity', 'text'], ['event', 'text'], ['watcher', 'text'], ['remote_target', 'text'], ['instance', 'text']];
const DIALOG_K: readonly KeyColumn[] = [['call_id', 'text'], ['local_tag', 'text'], ['remote_tag', 'text']];
/** Element types of the columns an update patch can set (subscriptionPatchToRow). */
const PATCH_TYPES: Readonly<Record<string, KeyColumn[1]>> = {
  [SUB.expiresAt]: 'bigint', [SUB.remoteCseq]: 'bigint', [SUB.state]: 'text', [SUB.reason]: 'text', [SUB.remoteTarget]: 'text',
  [SUB.viaTransport]: 'text', [SUB.viaHost]: 'text', [SUB.viaPort]: 'integer', [SUB.viaConnectionId]: 'text', [SUB.updatedAt]: 'bigint',
};

/**
 * The hot methods (forPresentity, byDialog, the CSeq bump, insert, update, remove) are coalesced
 * (coalescer.ts): the calls of one turn share one statement; calls on the same subscription never do.
 */
export class KnexSubscriptionRepository implements SubscriptionRepository {
  private readonly forCalls: Coalescer<ForKey, Subscription[]>;
  private readonly claims: Coalescer<ForKey, Subscription[]>;
  private readonly countCalls: Coalescer<ForKey, number>;
  private readonly dialogCalls: Coalescer<DialogKey, Subscription | undefined>;
  private readonly cseqBumps: Coalescer<string, number | undefined>;
  private readonly inserts: Coalescer<Subscription, void>;
  private readonly updates: Coalescer<Update, void>;
  private readonly removes: Coalescer<string, boolean>;
  private readonly takes: Coalescer<string, Subscription | undefined>;
  private readonly deviceCalls: Coalescer<DeviceKey, Subscription[]>;

  constructor(private readonly db: Knex) {
    const bounds = coalescing(db);
    const byId = { ...bounds, key: (id: string): string => id };
    this.forCalls = new Coalescer((keys) => this.forMany(keys), bounds);
    this.countCalls = new Coalescer((keys) => this.countMany(keys), bounds);
    this.claims = new Coalescer((keys) => this.claimMany(keys), { ...bounds, key: (k) => `${k[0]}\0${k[1]}` });
    this.dialogCalls = new Coalescer((keys) => this.dialogMany(keys), bounds);
    this.cseqBumps = new Coalescer((ids) => this.bumpMany(ids), byId);
    this.inserts = new Coalescer((subs) => this.insertMany(subs), { ...bounds, key: (s) => s.id });
    this.updates = new Coalescer((us) => this.updateMany(us), { ...bounds, key: (u) => u[0] });
    this.removes = new Coalescer((ids) => this.removeMany(ids), byId);
    this.takes = new Coalescer((ids) => this.takeMany(ids), byId);
    this.deviceCalls = new Coalescer((keys) => this.deviceMany(keys), bounds);
  }

  private table(): Knex.QueryBuilder {
    return this.db(T.subscriptions);
  }

  /** Live: not expired (by the caller's clock) and not terminated. */
  private live(q: Knex.QueryBuilder, now: number): Knex.QueryBuilder {
    return q.andWhere(SUB.expiresAt, '>', now).andWhereNot(SUB.state, 'terminated');
  }

  insert(s: Subscription): Promise<void> {
    return this.inserts.call(s);
  }

  private async insertMany(subs: readonly Subscription[]): Promise<void[]> {
    const { sql, values } = insertUnnest(T.subscriptions, SUB_TYPES, subs.map(subscriptionToRow));
    await runPrepared(this.db, sql, values);
    return subs.map(() => undefined);
  }

  async byId(id: string): Promise<Subscription | undefined> {
    const row: Row | undefined = await this.table().where(SUB.id, id).first();
    return row && subscriptionFromRow(row);
  }

  /** RFC 3261 §12.2.2: an in-dialog request is matched by Call-ID, local tag and remote tag. */
  byDialog(callId: string, localTag: string, remoteTag: string): Promise<Subscription | undefined> {
    return this.dialogCalls.call([callId, localTag, remoteTag]);
  }

  private async dialogMany(keys: readonly DialogKey[]): Promise<Array<Subscription | undefined>> {
    const rows = await runKeyed(this.db, `SELECT k.k_i, t.* FROM {k} JOIN "${T.subscriptions}" t ON t."${SUB.callId}" = k.k_call_id
      AND t."${SUB.localTag}" = k.k_local_tag AND t."${SUB.remoteTag}" = k.k_remote_tag`, keyed(DIALOG_K, keys));
    return firstOfEach(byCall(rows, keys.length)).map((r) => r && subscriptionFromRow(r));
  }

  forPresentity(presentity: string, event: string, now: number): Promise<Subscription[]> {
    return this.forCalls.call([presentity, event, now]);
  }

  private async forMany(keys: readonly ForKey[]): Promise<Subscription[][]> {
    const rows = await runKeyed(this.db, `SELECT k.k_i, t.* FROM {k} JOIN "${T.subscriptions}" t ON t."${SUB.presentity}" = k.k_presentity COLLATE "C"
      AND t."${SUB.event}" = k.k_event AND t."${SUB.expiresAt}" > k.k_now AND t."${SUB.state}" <> 'terminated'
      ORDER BY k.k_i, t."${SUB.createdAt}", t."${SUB.id}"`, keyed(FOR_K, keys));
    return byCall(rows, keys.length).map((g) => g.map(subscriptionFromRow));
  }

  claimActive(presentity: string, event: string, now: number): Promise<Subscription[]> {
    return this.claims.call([presentity, event, now]);
  }

  private async claimMany(keys: readonly ForKey[]): Promise<Subscription[][]> {
    const rows = await runKeyed(this.db, `UPDATE "${T.subscriptions}" t SET "${SUB.localCseq}" = t."${SUB.localCseq}" + 1 FROM {k}
      WHERE t."${SUB.presentity}" = k.k_presentity COLLATE "C" AND t."${SUB.event}" = k.k_event AND t."${SUB.expiresAt}" > k.k_now
      AND t."${SUB.state}" = 'active' RETURNING k.k_i, t.*`, keyed(FOR_K, keys));
    // UPDATE … RETURNING has no ORDER BY: the same order as forPresentity (oldest first).
    return byCall(rows, keys.length).map((g) => g.map(subscriptionFromRow).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
  }

  /** Same device = same Contact (remote target) or, when the watcher sent one, same +sip.instance. */
  sameDevice(presentity: string, event: string, watcher: string, remoteTarget: string, instance: string | null): Promise<Subscription[]> {
    return this.deviceCalls.call([presentity, event, watcher, remoteTarget, instance]);
  }

  private async deviceMany(keys: readonly DeviceKey[]): Promise<Subscription[][]> {
    const rows = await runKeyed(this.db, `SELECT k.k_i, t.* FROM {k} JOIN "${T.subscriptions}" t ON t."${SUB.presentity}" = k.k_presentity COLLATE "C"
      AND t."${SUB.event}" = k.k_event AND t."${SUB.watcher}" = k.k_watcher COLLATE "C"
      AND (t."${SUB.remoteTarget}" = k.k_remote_target OR (k.k_instance IS NOT NULL AND t."${SUB.contactInstance}" = k.k_instance))
      ORDER BY k.k_i, t."${SUB.createdAt}", t."${SUB.id}"`, keyed(DEVICE_K, keys));
    return byCall(rows, keys.length).map((g) => g.map(subscriptionFromRow));
  }

  async update(id: string, patch: SubscriptionPatch): Promise<void> {
    if (Object.keys(subscriptionPatchToRow(patch)).length === 0) return;
    await this.updates.call([id, patch]);
  }

  /** Patches of the same shape (the same columns) share one UPDATE … FROM unnest(…). */
  private async updateMany(us: readonly Update[]): Promise<void[]> {
    const shapes = new Map<string, Array<[string, Row]>>();
    for (const [id, patch] of us) {
      const row = subscriptionPatchToRow(patch);
      const shape = Object.keys(row).sort().join(',');
      shapes.set(shape, [...(shapes.get(shape) ?? []), [id, row]]);
    }
    for (const [shape, group] of shapes) {
      const cols = shape.split(',');
      const k = keyed([['id', 'text'], ...cols.map((c): KeyColumn => [c, PATCH_TYPES[c] ?? 'text'])], group.map(([id, row]) => [id, ...cols.map((c) => row[c])]));
      const set = cols.map((c) => `"${c}" = k."k_${c}"`).join(', ');
      await runKeyed(this.db, `UPDATE "${T.subscriptions}" t SET ${set} FROM {k} WHERE t."${SUB.id}" = k.k_id`, k);
    }
    return us.map(() => undefined);
  }

  /** CSeq of the next NOTIFY, bumped atomically (DESIGN.md, Storage: `UPDATE … RETURNING`). */
  nextCseq(id: string): Promise<number | undefined> {
    return this.cseqBumps.call(id);
  }

  /** The CSeqs of a whole fan-out (and of every other NOTIFY of this turn) in one UPDATE … WHERE id = ANY(…). */
  async nextCseqs(ids: readonly string[]): Promise<Map<string, number>> {
    const cseqs = await Promise.all(ids.map((id) => this.cseqBumps.call(id)));
    const out = new Map<string, number>();
    ids.forEach((id, i) => {
      const c = cseqs[i];
      if (c !== undefined) out.set(id, c);
    });
    return out;
  }

  private async bumpMany(ids: readonly string[]): Promise<Array<number | undefined>> {
    const rows = await runPrepared(this.db, `UPDATE "${T.subscriptions}" SET "${SUB.localCseq}" = "${SUB.localCseq}" + 1
      WHERE "${SUB.id}" = ANY(?::text[]) RETURNING "${SUB.id}", "${SUB.localCseq}"`, [[...ids]]);
    const got = new Map(rows.map((r) => [String(r[SUB.id]), toNumber(r[SUB.localCseq])]));
    return ids.map((id) => got.get(id));
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

  remove(id: string): Promise<boolean> {
    return this.removes.call(id);
  }

  take(id: string): Promise<Subscription | undefined> {
    return this.takes.call(id);
  }

  private async takeMany(ids: readonly string[]): Promise<Array<Subscription | undefined>> {
    const rows = await runPrepared(this.db, `DELETE FROM "${T.subscriptions}" WHERE "${SUB.id}" = ANY(?::text[]) RETURNING *`, [[...ids]]);
    const gone = new Map(rows.map((r) => [String(r[SUB.id]), subscriptionFromRow(r)]));
    return ids.map((id) => gone.get(id));
  }

  private async removeMany(ids: readonly string[]): Promise<boolean[]> {
    const rows = await runPrepared(this.db, `DELETE FROM "${T.subscriptions}" WHERE "${SUB.id}" = ANY(?::text[]) RETURNING "${SUB.id}"`, [[...ids]]);
    const gone = new Set(rows.map((r) => String(r[SUB.id])));
    return ids.map((id) => gone.has(id));
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

  /** Live subscriptions to a presentity's event (the watcher cap); coalesced like the other hot reads. */
  countFor(presentity: string, event: string, now: number): Promise<number> {
    return this.countCalls.call([presentity, event, now]);
  }

  private async countMany(keys: readonly ForKey[]): Promise<number[]> {
    const rows = await runKeyed(this.db, `SELECT k.k_i, count(t."${SUB.id}") AS n FROM {k} LEFT JOIN "${T.subscriptions}" t
      ON t."${SUB.presentity}" = k.k_presentity COLLATE "C" AND t."${SUB.event}" = k.k_event AND t."${SUB.expiresAt}" > k.k_now
      AND t."${SUB.state}" <> 'terminated' GROUP BY k.k_i`, keyed(FOR_K, keys));
    return byCall(rows, keys.length).map((g) => countOf(g));
  }
}
