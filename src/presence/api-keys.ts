/**
 * HTTP API keys (issue 8): bearer tokens an operator makes through /admin/api-keys, beside the
 * `api_tokens` parameter. Herald keeps only a hash of each token (the token is shown once). The
 * repository is implemented by store/api-key-repository.ts.
 */

/** What a token may do. `admin` also grants every other scope. */
export const SCOPES = ['presence:read', 'presence:write', 'subscriptions', 'admin'] as const;

export type Scope = (typeof SCOPES)[number];

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

export interface ApiKey {
  /** Public id, used to list and delete the key. */
  id: string;
  /** The operator's label for it. */
  name: string;
  /** Lower-case hex SHA-256 of the token. */
  tokenHash: string;
  /** The first characters of the token (the rest is never stored). */
  tokenPrefix: string;
  scopes: Scope[];
  /** Domains the key is limited to; null: every domain. */
  domains: string[] | null;
  createdAt: number;
}

export interface ApiKeyRepository {
  insert(key: ApiKey): Promise<void>;
  byHash(tokenHash: string): Promise<ApiKey | undefined>;
  byId(id: string): Promise<ApiKey | undefined>;
  /** Keys ordered by id, after `after` (keyset paging). */
  list(opts: { after?: string; limit: number }): Promise<ApiKey[]>;
  remove(id: string): Promise<boolean>;
  /** True when at least one key exists. */
  any(): Promise<boolean>;
}
