/**
 * Publications (RFC 3903) in table `presentity`. Reads take `now` from the injected clock
 * (presence/ports.ts): a publication is live while expiresAt > now.
 */
import type { Knex } from 'knex';
import type { Publication } from '../presence/model';
import type { PublicationPatch, PublicationRepository } from '../presence/ports';
import { CTID, PUB, T, publicationFromRow, publicationPatchToRow, publicationToRow, type Row } from './rows';
import { deleteBatch, likeLiteral } from './sql';

export class KnexPublicationRepository implements PublicationRepository {
  constructor(private readonly db: Knex) {}

  private table(): Knex.QueryBuilder {
    return this.db(T.publications);
  }

  async live(presentity: string, event: string, now: number): Promise<Publication[]> {
    const rows: Row[] = await this.table()
      .where({ [PUB.presentity]: presentity, [PUB.event]: event })
      .andWhere(PUB.expiresAt, '>', now)
      .orderBy([PUB.receivedAt, PUB.etag]);
    return rows.map(publicationFromRow);
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

  async insert(p: Publication): Promise<void> {
    await this.table().insert(publicationToRow(p));
  }

  /** RFC 3903 §4.1: a refresh or modification hands out a new entity-tag for the same publication. */
  async replace(presentity: string, event: string, oldEtag: string, next: Publication): Promise<boolean> {
    const rows: Row[] = await this.table()
      .where({ [PUB.presentity]: presentity, [PUB.event]: event, [PUB.etag]: oldEtag })
      .update(publicationToRow(next))
      .returning([PUB.etag]);
    return rows.length > 0;
  }

  async updateLive(presentity: string, event: string, oldEtag: string, now: number, patch: PublicationPatch): Promise<Publication | undefined> {
    const rows: Row[] = await this.table()
      .where({ [PUB.presentity]: presentity, [PUB.event]: event, [PUB.etag]: oldEtag })
      .andWhere(PUB.expiresAt, '>', now)
      .update(publicationPatchToRow(patch))
      .returning('*');
    return rows[0] === undefined ? undefined : publicationFromRow(rows[0]);
  }

  async removeLive(presentity: string, event: string, etag: string, now: number): Promise<Publication | undefined> {
    const rows: Row[] = await this.table()
      .where({ [PUB.presentity]: presentity, [PUB.event]: event, [PUB.etag]: etag })
      .andWhere(PUB.expiresAt, '>', now)
      .del()
      .returning('*');
    return rows[0] === undefined ? undefined : publicationFromRow(rows[0]);
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
