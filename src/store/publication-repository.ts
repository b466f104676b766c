/**
 * Publications (RFC 3903) in table `presentity`. Reads take `now` from the injected clock
 * (presence/ports.ts): a publication is live while expiresAt > now.
 */
import type { Knex } from 'knex';
import type { Publication } from '../presence/model';
import type { PublicationPatch, PublicationRepository } from '../presence/ports';
import { byCall, coalescing, firstOfEach, insertUnnest, keyed, runKeyed, runPrepared, type KeyColumn } from './batch-sql';
import { Coalescer } from './coalescer';
import { CTID, PUB, PUB_TYPES, T, publicationFromRow, publicationPatchToRow, publicationToRow, type Row } from './rows';
import { deleteBatch, likeLiteral } from './sql';

type LiveKey = readonly [presentity: string, event: string, now: number];
type EtagKey = readonly [presentity: string, event: string, etag: string, now: number];
type Update = readonly [presentity: string, event: string, oldEtag: string, now: number, patch: PublicationPatch];

const LIVE_K: readonly KeyColumn[] = [['presentity', 'text'], ['event', 'text'], ['now', 'bigint']];
const ETAG_K: readonly KeyColumn[] = [['presentity', 'text'], ['event', 'text'], ['etag', 'text'], ['now', 'bigint']];
/** An update's key and patch; a null patch value keeps the column (client has its own flag: null is a value). */
const UPDATE_K: readonly KeyColumn[] = [
  ...ETAG_K, ['new_etag', 'text'], ['expires_at', 'bigint'], ['body', 'text'], ['content_type', 'text'],
  ['received_at', 'bigint'], ['source', 'text'], ['set_client', 'boolean'], ['client', 'text'],
];
const MATCH = `t."${PUB.presentity}" = k.k_presentity COLLATE "C" AND t."${PUB.event}" = k.k_event`;
const MATCH_LIVE_ETAG = `${MATCH} AND t."${PUB.etag}" = k.k_etag AND t."${PUB.expiresAt}" > k.k_now`;
const keep = (col: string, k: string): string => `"${col}" = COALESCE(k.k_${k}, t."${col}")`;

/**
 * The hot methods (live, insert, updateLive, removeLive) are coalesced (coalescer.ts): the calls of
 * one turn — the fan-outs of many PUBLISHes, the works of one group-commit batch — share one statement.
 */
export class KnexPublicationRepository implements PublicationRepository {
  private readonly liveCalls: Coalescer<LiveKey, Publication[]>;
  private readonly inserts: Coalescer<Publication, void>;
  private readonly updates: Coalescer<Update, Publication | undefined>;
  private readonly removes: Coalescer<EtagKey, Publication | undefined>;

  constructor(private readonly db: Knex) {
    const bounds = coalescing(db);
    const rowKey = (a: readonly unknown[]): string => `${String(a[0])}\0${String(a[1])}\0${String(a[2])}`;
    this.liveCalls = new Coalescer((keys) => this.liveMany(keys), bounds);
    this.inserts = new Coalescer((ps) => this.insertMany(ps), { ...bounds, key: (p) => rowKey([p.presentity, p.event, p.etag]) });
    this.updates = new Coalescer<Update, Publication | undefined>((us) => this.updateMany(us), { ...bounds, key: rowKey });
    this.removes = new Coalescer<EtagKey, Publication | undefined>((ks) => this.removeMany(ks), { ...bounds, key: rowKey });
  }

  private table(): Knex.QueryBuilder {
    return this.db(T.publications);
  }

  live(presentity: string, event: string, now: number): Promise<Publication[]> {
    return this.liveCalls.call([presentity, event, now]);
  }

  private async liveMany(keys: readonly LiveKey[]): Promise<Publication[][]> {
    const rows = await runKeyed(this.db, `SELECT k.k_i, t.* FROM {k} JOIN "${T.publications}" t ON ${MATCH} AND t."${PUB.expiresAt}" > k.k_now
      ORDER BY k.k_i, t."${PUB.receivedAt}", t."${PUB.etag}"`, keyed(LIVE_K, keys));
    return byCall(rows, keys.length).map((g) => g.map(publicationFromRow));
  }

  async byEtag(presentity: string, event: string, etag: string, now: number): Promise<Publication | undefined> {
    const row: Row | undefined = await this.table()
      .where({ [PUB.presentity]: presentity, [PUB.event]: event, [PUB.etag]: etag })
      .andWhere(PUB.expiresAt, '>', now)
      .first();
    return row && publicationFromRow(row);
  }

  async byClient(presentity: string, event: string, client: string, now: number): Promise<Publication | undefined> {
    const row: Row | undefined = await this.table()
      .where({ [PUB.presentity]: presentity, [PUB.event]: event, [PUB.source]: 'http', [PUB.client]: client })
      .andWhere(PUB.expiresAt, '>', now)
      .orderBy(PUB.receivedAt, 'desc')
      .first();
    return row && publicationFromRow(row);
  }

  insert(p: Publication): Promise<void> {
    return this.inserts.call(p);
  }

  private async insertMany(ps: readonly Publication[]): Promise<void[]> {
    const { sql, values } = insertUnnest(T.publications, PUB_TYPES, ps.map(publicationToRow));
    await runPrepared(this.db, sql, values);
    return ps.map(() => undefined);
  }

  /** RFC 3903 §4.1: a refresh or modification hands out a new entity-tag for the same publication. */
  async replace(presentity: string, event: string, oldEtag: string, next: Publication): Promise<boolean> {
    const rows: Row[] = await this.table()
      .where({ [PUB.presentity]: presentity, [PUB.event]: event, [PUB.etag]: oldEtag })
      .update(publicationToRow(next))
      .returning([PUB.etag]);
    return rows.length > 0;
  }

  updateLive(presentity: string, event: string, oldEtag: string, now: number, patch: PublicationPatch): Promise<Publication | undefined> {
    return this.updates.call([presentity, event, oldEtag, now, patch]);
  }

  private async updateMany(us: readonly Update[]): Promise<Array<Publication | undefined>> {
    const tuples = us.map(([presentity, event, oldEtag, now, p]) => {
      const row = publicationPatchToRow(p);
      return [presentity, event, oldEtag, now, row[PUB.etag], row[PUB.expiresAt], row[PUB.body], row[PUB.contentType],
        row[PUB.receivedAt], row[PUB.source], PUB.client in row, row[PUB.client]];
    });
    const rows = await runKeyed(this.db, `UPDATE "${T.publications}" t SET "${PUB.etag}" = k.k_new_etag, "${PUB.expiresAt}" = k.k_expires_at,
      ${keep(PUB.body, 'body')}, ${keep(PUB.contentType, 'content_type')}, ${keep(PUB.receivedAt, 'received_at')}, ${keep(PUB.source, 'source')},
      "${PUB.client}" = CASE WHEN k.k_set_client THEN k.k_client ELSE t."${PUB.client}" END
      FROM {k} WHERE ${MATCH_LIVE_ETAG} RETURNING k.k_i, t.*`, keyed(UPDATE_K, tuples));
    return firstOfEach(byCall(rows, us.length)).map((r) => r && publicationFromRow(r));
  }

  removeLive(presentity: string, event: string, etag: string, now: number): Promise<Publication | undefined> {
    return this.removes.call([presentity, event, etag, now]);
  }

  private async removeMany(ks: readonly EtagKey[]): Promise<Array<Publication | undefined>> {
    const rows = await runKeyed(this.db, `DELETE FROM "${T.publications}" t USING {k} WHERE ${MATCH_LIVE_ETAG} RETURNING k.k_i, t.*`, keyed(ETAG_K, ks));
    return firstOfEach(byCall(rows, ks.length)).map((r) => r && publicationFromRow(r));
  }

  async remove(presentity: string, event: string, etag: string): Promise<boolean> {
    const rows: Row[] = await this.table()
      .where({ [PUB.presentity]: presentity, [PUB.event]: event, [PUB.etag]: etag })
      .del()
      .returning([PUB.etag]);
    return rows.length > 0;
  }

  async takeExpired(now: number, limit: number): Promise<Publication[]> {
    const rows = await deleteBatch(this.db, T.publications, CTID, (q) => q.where(PUB.expiresAt, '<=', now), PUB.expiresAt, limit);
    return rows.map(publicationFromRow).sort((a, b) => a.expiresAt - b.expiresAt);
  }

  async presentities(opts: { domain?: string; after?: string; limit: number; now: number }): Promise<string[]> {
    if (!(opts.limit > 0)) return [];
    const q = this.table().distinct(PUB.presentity).where(PUB.expiresAt, '>', opts.now);
    // Canonical AORs are `sip:user@host` (presence/aor.ts); the domain is the host part.
    if (opts.domain !== undefined) q.andWhere(PUB.presentity, 'like', `%@${likeLiteral(opts.domain.toLowerCase())}`);
    // Keyset paging; the column's "C" collation makes this the same byte order on every server.
    if (opts.after !== undefined) q.andWhere(PUB.presentity, '>', opts.after);
    const rows: Row[] = await q.orderBy(PUB.presentity).limit(Math.floor(opts.limit));
    return rows.map((r) => String(r[PUB.presentity]));
  }
}
