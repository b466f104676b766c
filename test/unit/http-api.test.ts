/**
 * The pure parts of the HTTP API (issue 8): record ranges, content negotiation, validation messages,
 * bearer-token checks and the SIP metrics hook.
 */
import { Authenticator, requireAdmin, requireDomain, requireScope, tokenDigest } from '../../src/http/auth';
import { validationMessage } from '../../src/http/errors';
import { HeraldMetrics } from '../../src/http/metrics';
import { parseRecordsRange, sliceFor } from '../../src/http/range';
import { prefersPidf } from '../../src/http/routes/presence';
import type { ApiKey, ApiKeyRepository } from '../../src/presence/api-keys';
import { PresenceError } from '../../src/errors';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof PresenceError ? e.code : 'other';
  }
  return undefined;
}

describe('Range: records (seed 004)', () => {
  it('parses records=i-j, the seed\'s "records i-j", and an open end; ignores other units', () => {
    expect(parseRecordsRange('records=0-20')).toEqual({ first: 0, last: 20 });
    expect(parseRecordsRange('records 10-15')).toEqual({ first: 10, last: 15 });
    expect(parseRecordsRange('Records=5-')).toEqual({ first: 5, last: null });
    expect(parseRecordsRange('bytes=0-100')).toBeUndefined();
    expect(parseRecordsRange(undefined)).toBeUndefined();
  });

  it('refuses a malformed or reversed records range with 400', () => {
    expect(codeOf(() => parseRecordsRange('records=a-b'))).toBe('BAD_REQUEST');
    expect(codeOf(() => parseRecordsRange('records=9-3'))).toBe('BAD_REQUEST');
    expect(codeOf(() => parseRecordsRange('records=-3'))).toBe('BAD_REQUEST');
  });

  it('slices: 206 with Content-Range, clamped to the end and the page bound; 416 past the end', () => {
    expect(sliceFor({ first: 0, last: 20 }, 35, 1000)).toEqual({ offset: 0, count: 21, status: 206, contentRange: 'records 0-20/35' });
    expect(sliceFor({ first: 30, last: 99 }, 35, 1000)).toMatchObject({ offset: 30, count: 5, contentRange: 'records 30-34/35' });
    expect(sliceFor({ first: 0, last: null }, 35, 10)).toMatchObject({ count: 10, contentRange: 'records 0-9/35' });
    expect(codeOf(() => sliceFor({ first: 10, last: 15 }, 8, 1000))).toBe('RANGE_NOT_SATISFIABLE');
    expect(codeOf(() => sliceFor({ first: 0, last: 0 }, 0, 1000))).toBe('RANGE_NOT_SATISFIABLE');
    expect(sliceFor(undefined, 8, 1000)).toEqual({ offset: 0, count: 8, status: 200, contentRange: null });
    expect(sliceFor(undefined, 8, 5)).toEqual({ offset: 0, count: 5, status: 206, contentRange: 'records 0-4/8' });
  });
});

describe('content negotiation (RFC 9110 §12.5.1)', () => {
  it('JSON unless PIDF has the higher q or is named where JSON only matches a wildcard', () => {
    expect(prefersPidf(undefined)).toBe(false);
    expect(prefersPidf('application/pidf+xml')).toBe(true);
    expect(prefersPidf('application/json')).toBe(false);
    expect(prefersPidf('*/*')).toBe(false);
    expect(prefersPidf('application/pidf+xml, */*')).toBe(true);
    expect(prefersPidf('application/json, application/pidf+xml')).toBe(false);
    expect(prefersPidf('application/json;q=0.2, application/pidf+xml;q=0.9')).toBe(true);
    expect(prefersPidf('application/*;q=0.5, application/pidf+xml;q=0')).toBe(false);
    expect(codeOf(() => prefersPidf('text/html'))).toBe('NOT_ACCEPTABLE');
    expect(codeOf(() => prefersPidf('application/json;q=0'))).toBe('NOT_ACCEPTABLE');
  });
});

describe('validation messages name the field', () => {
  it('required, additional, enum and the rest', () => {
    expect(validationMessage('body', { keyword: 'required', instancePath: '', params: { missingProperty: 'status' } })).toBe('body.status is required');
    expect(validationMessage('querystring', { keyword: 'additionalProperties', instancePath: '', params: { additionalProperty: 'x' } })).toBe('querystring.x is not allowed');
    expect(validationMessage('body', { keyword: 'enum', instancePath: '/scopes/1', params: { allowedValues: ['a', 'b'] } })).toBe('body.scopes.1 must be one of a, b');
    expect(validationMessage('params', { keyword: 'pattern', instancePath: '/user', params: {}, message: 'must match pattern "x"' })).toBe('params.user must match pattern "x"');
  });
});

class Keys implements ApiKeyRepository {
  constructor(readonly keys: ApiKey[] = []) {}
  async insert(k: ApiKey): Promise<void> { this.keys.push(k); }
  async byHash(h: string): Promise<ApiKey | undefined> { return this.keys.find((k) => k.tokenHash === h); }
  async byId(id: string): Promise<ApiKey | undefined> { return this.keys.find((k) => k.id === id); }
  async list(): Promise<ApiKey[]> { return this.keys; }
  async remove(): Promise<boolean> { return false; }
  async any(): Promise<boolean> { return this.keys.length > 0; }
}

describe('bearer tokens', () => {
  const auth = new Authenticator(
    [{ token: 'config-token-1234', scopes: ['presence:read', 'bogus'] }, { token: 'dom-token-1234', scopes: ['presence:write'], domains: ['Example.com'] }],
    new Keys([{ id: 'k1', name: 'k', tokenHash: tokenDigest('hrk_key-token').toString('hex'), tokenPrefix: 'hrk_key-to', scopes: ['admin'], domains: null, createdAt: 0 }]),
  );

  it('knows configured tokens and keys; reports scopes it does not know', async () => {
    const g = await auth.authenticate('Bearer config-token-1234');
    expect([...g.scopes]).toEqual(['presence:read']);
    expect(g.keyId).toBeNull();
    expect(auth.unknownScopes).toEqual(['bogus']);
    const k = await auth.authenticate('bearer hrk_key-token');
    expect(k.keyId).toBe('k1');
    expect(() => requireAdmin(k)).not.toThrow();
  });

  it('401 for missing, malformed and unknown tokens', async () => {
    for (const h of [undefined, '', 'Bearer', 'Basic abc', 'Bearer a b', 'Bearer config-token-123']) {
      await expect(auth.authenticate(h)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    }
  });

  it('403 for a scope or a domain the grant lacks; admin has every scope but needs no domain limit for /admin', async () => {
    const read = await auth.authenticate('Bearer config-token-1234');
    expect(codeOf(() => requireScope(read, 'presence:write'))).toBe('FORBIDDEN');
    expect(codeOf(() => requireScope(read, 'presence:read'))).toBeUndefined();
    const dom = await auth.authenticate('Bearer dom-token-1234');
    expect(codeOf(() => requireDomain(dom, 'EXAMPLE.COM'))).toBeUndefined();
    expect(codeOf(() => requireDomain(dom, 'example.org'))).toBe('FORBIDDEN');
    expect(codeOf(() => requireAdmin({ scopes: new Set(['admin']), domains: ['example.com'], keyId: null, id: 'token:x', user: null, appId: null }))).toBe('FORBIDDEN');
    expect(codeOf(() => requireScope({ scopes: new Set(['admin']), domains: null, keyId: null, id: 'token:x', user: null, appId: null }, 'subscriptions'))).toBeUndefined();
  });

  it('with no token and no key, the 401 says how to configure one', async () => {
    const closed = new Authenticator([], new Keys());
    await expect(closed.authenticate('Bearer anything-at-all')).rejects.toThrow(/no API token is configured; set api_tokens/);
  });
});

describe('metrics hook for the SIP endpoint', () => {
  it('sipRequest(method, status) counts by method and final code; unknown methods are "other"', async () => {
    const m = new HeraldMetrics({ defaultMetrics: false });
    m.sipRequest('PUBLISH', 200);
    m.sipRequest('publish', 200);
    m.sipRequest('SUBSCRIBE', 489);
    m.sipRequest('XYZZY', 405);
    const { body } = await m.render();
    expect(body).toContain('herald_sip_requests_total{method="PUBLISH",status="200"} 2');
    expect(body).toContain('herald_sip_requests_total{method="SUBSCRIBE",status="489"} 1');
    expect(body).toContain('herald_sip_requests_total{method="other",status="405"} 1');
  });
});
