/** HTTP API keys in table `api_keys` (presence/api-keys.ts). Only token hashes are stored. */
import type { Knex } from 'knex';
import type { ApiKey, ApiKeyRepository } from '../presence/api-keys';
import { KEY, T, apiKeyFromRow, apiKeyToRow, type Row } from './rows';

export class KnexApiKeyRepository implements ApiKeyRepository {
  constructor(private readonly db: Knex) {}

  private table(): Knex.QueryBuilder {
    return this.db(T.apiKeys);
  }

  async insert(key: ApiKey): Promise<void> {
    await this.table().insert(apiKeyToRow(key));
  }

  async byHash(tokenHash: string): Promise<ApiKey | undefined> {
    const row: Row | undefined = await this.table().where(KEY.tokenHash, tokenHash).first();
    return row && apiKeyFromRow(row);
  }

  async byId(id: string): Promise<ApiKey | undefined> {
    const row: Row | undefined = await this.table().where(KEY.id, id).first();
    return row && apiKeyFromRow(row);
  }

  async list(opts: { after?: string; limit: number }): Promise<ApiKey[]> {
    if (!(opts.limit > 0)) return [];
    const q = this.table();
    if (opts.after !== undefined) q.where(KEY.id, '>', opts.after);
    const rows: Row[] = await q.orderBy(KEY.id).limit(Math.floor(opts.limit));
    return rows.map(apiKeyFromRow);
  }

  async remove(id: string): Promise<boolean> {
    const rows: Row[] = await this.table().where(KEY.id, id).del().returning([KEY.id]);
    return rows.length > 0;
  }

  async any(): Promise<boolean> {
    const row: Row | undefined = await this.table().select(KEY.id).first();
    return row !== undefined;
  }
}
