/**
 * HTTP API keys managed through /admin/api-keys (issue 8). Only a SHA-256 of each token is kept; the
 * token itself is shown once, when the key is made. Literal column names on purpose (see src/store/rows.ts).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('api_keys', (t) => {
    t.text('id').notNullable().primary({ constraintName: 'api_keys_pkey' });
    t.text('name').notNullable();
    // Lower-case hex SHA-256 of the bearer token: looked up on every authenticated request.
    t.text('token_hash').notNullable().unique({ indexName: 'api_keys_token_hash_key' });
    // The first characters of the token, so an operator can tell keys apart in a listing.
    t.text('token_prefix').notNullable();
    t.jsonb('scopes').notNullable();
    // null: every domain.
    t.jsonb('domains').nullable();
    t.bigInteger('created_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('api_keys');
}
