/**
 * Bearer tokens for the HTTP API (issue 8; RFC 6750). A token comes from the `api_tokens` parameter
 * or from the api_keys table (made through /admin/api-keys). It carries scopes (presence:read,
 * presence:write, subscriptions, admin — admin grants them all) and optionally a list of domains.
 * Missing or unknown token → 401; a scope or domain the token lacks → 403.
 *
 * Tokens are compared as SHA-256 digests with crypto.timingSafeEqual, against every configured token
 * without stopping at a match; a key from the table is looked up by its digest (a preimage-resistant
 * index, so timing tells nothing about the token). Tokens are never logged: the logger redacts
 * `authorization`, and nothing here logs a token or its digest.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Random } from '../clock';
import type { ApiToken } from '../config';
import { PresenceError } from '../errors';
import { canonicalAor } from '../presence/aor';
import { isScope, type ApiKeyRepository, type Scope } from '../presence/api-keys';

export interface Grant {
  readonly scopes: ReadonlySet<Scope>;
  /** Lower-case domains the token is limited to; null: every domain. */
  readonly domains: readonly string[] | null;
  /** The api_keys id, or null for a configured token. */
  readonly keyId: string | null;
  /** Who the token is (owner of the HTTP subscriptions it makes): `token:<digest prefix>`, `key:<id>` or `app:<id>`. */
  readonly id: string;
  /** The user (AOR) a configured token belongs to (api_tokens `user`), else null. */
  readonly user: string | null;
  /** Set for an app's token (seed 002): it sees only the users who granted the app. */
  readonly appId: string | null;
}

/** Finds an app by the SHA-256 (hex) of its token (presence/apps.ts). */
export type AppLookup = (tokenHash: string) => Promise<{ id: string; tokenHash: string } | undefined>;

/** What an app's token may do: read the users who granted it, and subscribe to them. */
const APP_SCOPES: ReadonlySet<Scope> = new Set<Scope>(['presence:read', 'subscriptions']);

const REALM = 'Bearer realm="herald"';

/** SHA-256 of a token, 32 bytes. */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** A new API key token: `hrk_` + 32 random bytes (URL-safe), and what is stored of it. */
export function newApiToken(random: Random): { token: string; hash: string; prefix: string } {
  const token = `hrk_${random.token(32)}`;
  return { token, hash: tokenDigest(token).toString('hex'), prefix: token.slice(0, 10) };
}

export class Authenticator {
  private readonly configured: ReadonlyArray<{ digest: Buffer; grant: Grant }>;
  /** Scopes named in api_tokens that Herald does not know (reported once at start-up). */
  readonly unknownScopes: string[] = [];

  constructor(
    tokens: readonly ApiToken[],
    private readonly keys: ApiKeyRepository,
    private readonly apps: AppLookup = async () => undefined,
  ) {
    this.configured = tokens.map((t) => {
      const scopes = new Set<Scope>();
      for (const s of t.scopes) {
        if (isScope(s)) scopes.add(s);
        else if (!this.unknownScopes.includes(s)) this.unknownScopes.push(s);
      }
      const digest = tokenDigest(t.token);
      const grant: Grant = {
        scopes, domains: t.domains ? t.domains.map((d) => d.toLowerCase()) : null, keyId: null,
        id: `token:${digest.toString('hex').slice(0, 16)}`, user: t.user ? canonicalAor(t.user) ?? null : null, appId: null,
      };
      return { digest, grant };
    });
  }

  /** The grant of an `Authorization: Bearer <token>` header; 401 when missing or unknown. */
  async authenticate(authorization: string | undefined): Promise<Grant> {
    const m = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i.exec(authorization ?? '');
    if (!m) {
      const why = authorization === undefined || authorization.trim() === '' ? 'missing bearer token' : 'Authorization is not "Bearer <token>"';
      throw new PresenceError('UNAUTHENTICATED', await this.explain(why), { 'WWW-Authenticate': REALM });
    }
    const digest = tokenDigest(m[1] as string);
    let found: Grant | undefined;
    // Every configured token is compared, match or not, so the time taken does not depend on which one matched.
    for (const c of this.configured) {
      if (timingSafeEqual(c.digest, digest) && found === undefined) found = c.grant;
    }
    if (found) return found;
    const key = await this.keys.byHash(digest.toString('hex'));
    if (key && timingSafeEqual(Buffer.from(key.tokenHash, 'hex'), digest)) {
      return { scopes: new Set(key.scopes.filter(isScope)), domains: key.domains ? key.domains.map((d) => d.toLowerCase()) : null, keyId: key.id, id: `key:${key.id}`, user: null, appId: null };
    }
    const app = await this.apps(digest.toString('hex'));
    if (app && timingSafeEqual(Buffer.from(app.tokenHash, 'hex'), digest)) {
      return { scopes: APP_SCOPES, domains: null, keyId: null, id: `app:${app.id}`, user: null, appId: app.id };
    }
    throw new PresenceError('UNAUTHENTICATED', await this.explain('unknown bearer token'), { 'WWW-Authenticate': `${REALM}, error="invalid_token"` });
  }

  /** With no token configured and no key made, say how to set one (the API is closed until then). */
  private async explain(why: string): Promise<string> {
    if (this.configured.length > 0 || (await this.keys.any())) return why;
    return `${why}: no API token is configured; set api_tokens (e.g. HERALD_API_TOKENS='[{"token":"…","scopes":["presence:read","presence:write"]}]')`;
  }
}

/** 403 unless the grant has `scope` (admin has every scope). */
export function requireScope(grant: Grant, scope: Scope): void {
  if (grant.scopes.has(scope) || grant.scopes.has('admin')) return;
  throw new PresenceError('FORBIDDEN', `token lacks scope ${scope}`, { 'WWW-Authenticate': `${REALM}, error="insufficient_scope", scope="${scope}"` });
}

/** 403 unless the grant covers `domain`. */
export function requireDomain(grant: Grant, domain: string): void {
  if (grant.domains === null || grant.domains.includes(domain.toLowerCase())) return;
  throw new PresenceError('FORBIDDEN', `token is not valid for domain ${domain}`);
}

/** /admin sees every domain: it needs scope admin and a token without domain limits. */
export function requireAdmin(grant: Grant): void {
  requireScope(grant, 'admin');
  if (grant.domains !== null) throw new PresenceError('FORBIDDEN', 'admin endpoints need a token without domain limits');
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs; routes without one are open (health, metrics, OpenAPI). */
    scope?: Scope;
  }
  interface FastifyRequest {
    /** What the bearer token grants (set by authHook on routes that need a scope). */
    grant: Grant | null;
  }
}

/**
 * onRequest hook: authenticate and authorize before the body is read or validated (a caller without
 * a token learns nothing about the API's validation). The `{domain}` of the path is checked here too.
 */
export function authHook(auth: Authenticator): (req: FastifyRequest) => Promise<void> {
  return async (req) => {
    const scope = req.routeOptions.config.scope;
    if (scope === undefined) return;
    const grant = await auth.authenticate(req.headers.authorization);
    if (scope === 'admin') requireAdmin(grant);
    else requireScope(grant, scope);
    const domain = (req.params as { domain?: unknown } | undefined)?.domain;
    if (typeof domain === 'string') requireDomain(grant, domain);
    req.grant = grant;
  };
}

/** Whether the user `presentity` granted app `appId` access (presence/apps.ts). */
export type GrantCheck = (appId: string, presentity: string) => Promise<boolean>;

/** seed 002: an app "sees only users who granted it" — 403 for any other; other tokens pass. */
export async function requireGranted(grant: Grant, presentities: readonly string[], isGranted: GrantCheck): Promise<void> {
  if (grant.appId === null) return;
  for (const p of presentities) {
    if (!(await isGranted(grant.appId, p))) throw new PresenceError('FORBIDDEN', `${p} has not granted app ${grant.appId} access`);
  }
}
