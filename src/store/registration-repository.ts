/** REGISTER bindings (registrar-lite), in table `registrations`. */
import type { Knex } from 'knex';
import type { Registration } from '../presence/model';
import type { RegistrationRepository } from '../presence/ports';
import { CTID, REG, T, registrationFromRow, registrationToRow, type Row } from './rows';
import { deleteBatch } from './sql';

export class KnexRegistrationRepository implements RegistrationRepository {
  constructor(private readonly db: Knex) {}

  private table(): Knex.QueryBuilder {
    return this.db(T.registrations);
  }

  /** RFC 3261 §10.3: a binding is keyed by address-of-record and contact; a refresh replaces it. */
  async upsert(r: Registration): Promise<void> {
    const row = registrationToRow(r);
    const update = Object.keys(row).filter((c) => c !== REG.aor && c !== REG.contact);
    await this.table().insert(row).onConflict([REG.aor, REG.contact]).merge(update);
  }

  async remove(aor: string, contact: string): Promise<void> {
    await this.table().where({ [REG.aor]: aor, [REG.contact]: contact }).del().returning([REG.contact]);
  }

  async removeAll(aor: string): Promise<void> {
    await this.table().where(REG.aor, aor).del().returning([REG.contact]);
  }

  async live(aor: string, now: number): Promise<Registration[]> {
    const rows: Row[] = await this.table()
      .where(REG.aor, aor)
      .andWhere(REG.expiresAt, '>', now)
      .orderBy([REG.contact]);
    return rows.map(registrationFromRow);
  }

  async prune(now: number, limit: number): Promise<number> {
    const rows = await deleteBatch(
      this.db,
      T.registrations,
      CTID,
      (q) => q.where(REG.expiresAt, '<=', now),
      REG.expiresAt,
      limit,
      [REG.contact],
    );
    return rows.length;
  }
}
