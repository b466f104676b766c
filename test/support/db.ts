/**
 * Databases for tests. With HERALD_TEST_DB_URL (a postgres URL to an existing database, e.g.
 * postgres://postgres@127.0.0.1:5432/test) every caller gets a fresh database of its own, created
 * through the server's `postgres` database; without it, an in-memory PGlite (`memory://`).
 * Suites drop what they made: `afterAll(() => dropTestDb(url))` (a no-op for PGlite urls).
 */
import { randomBytes } from 'node:crypto';
import * as vm from 'node:vm';
import { Client } from 'pg';

const PREFIX = 'herald_t_';

function serverEnvUrl(): string | undefined {
  const url = process.env.HERALD_TEST_DB_URL;
  return url !== undefined && url.trim() !== '' ? url.trim() : undefined;
}

/** The same server, another database. */
function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function onAdminDb<T>(anyUrl: string, work: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: withDatabase(anyUrl, 'postgres') });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh, uniquely named PostgreSQL database on HERALD_TEST_DB_URL's server; its url. */
export async function createPostgresTestDb(serverUrl: string): Promise<string> {
  const name = `${PREFIX}${randomBytes(6).toString('hex')}`;
  await onAdminDb(serverUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  return withDatabase(serverUrl, name);
}

/** A url for the calling suite: a fresh PostgreSQL database, or `memory://` without HERALD_TEST_DB_URL. */
export async function testDbUrl(): Promise<string> {
  const server = serverEnvUrl();
  if (server === undefined) assertPgliteRunsUnderJest();
  return server === undefined ? 'memory://' : createPostgresTestDb(server);
}

/** Drop a database made by testDbUrl/backends (only `herald_t_…` names; other urls are left alone). */
export async function dropTestDb(url: string): Promise<void> {
  if (!/^postgres(ql)?:\/\//i.test(url)) return;
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!name.startsWith(PREFIX) || !/^[a-z0-9_]+$/.test(name)) return;
  // WITH (FORCE) (PostgreSQL 13+) ends connections a suite forgot to close.
  await onAdminDb(url, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

export interface TestBackend {
  name: 'pglite' | 'postgres';
  /** A fresh database for each call; drop it with dropTestDb. */
  url: () => Promise<string>;
}

/**
 * PGlite loads its wasm and node builtins with dynamic `import()`, which jest's VM only allows under
 * `node --experimental-vm-modules` (electric-sql/pglite#224); without it the worker crashes mid-suite.
 * Fail at collection with the fix instead.
 */
export function assertPgliteRunsUnderJest(): void {
  if (typeof (vm as { SourceTextModule?: unknown }).SourceTextModule === 'function') return;
  throw new Error(
    'PGlite under jest needs node --experimental-vm-modules: run NODE_OPTIONS=--experimental-vm-modules npx jest ' +
      '(or make the test script `node --experimental-vm-modules node_modules/jest/bin/jest.js`)',
  );
}

/** PGlite always; PostgreSQL too when HERALD_TEST_DB_URL is set. For `describe.each(backends())`. */
export function backends(): TestBackend[] {
  assertPgliteRunsUnderJest();
  const list: TestBackend[] = [{ name: 'pglite', url: async () => 'memory://' }];
  const server = serverEnvUrl();
  if (server !== undefined) list.push({ name: 'postgres', url: () => createPostgresTestDb(server) });
  return list;
}
