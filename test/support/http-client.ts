/**
 * A small HTTP client for the API tests: real requests over loopback (Node's fetch), the bearer
 * token added unless the call says otherwise, the answer's body kept as text and parsed when JSON.
 */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read fields of arbitrary answers
  json: any;
}

export interface RequestOptions {
  /** A JSON value (serialized) or a raw string body. */
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  /** null: no Authorization header; a string: this token instead of the client's. */
  token?: string | null;
}

export class HttpTestClient {
  constructor(
    readonly base: { host: string; port: number },
    readonly token: string | null = null,
  ) {}

  withToken(token: string | null): HttpTestClient {
    return new HttpTestClient(this.base, token);
  }

  url(path: string): string {
    return `http://${this.base.host}:${this.base.port}${path}`;
  }

  async request(method: string, path: string, o: RequestOptions = {}): Promise<HttpAnswer> {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    const token = o.token === undefined ? this.token : o.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (o.raw !== undefined) body = o.raw;
    else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(this.url(path), { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  get(path: string, o?: RequestOptions): Promise<HttpAnswer> {
    return this.request('GET', path, o);
  }
  put(path: string, body: unknown, o: RequestOptions = {}): Promise<HttpAnswer> {
    return this.request('PUT', path, { ...o, body });
  }
  post(path: string, body: unknown, o: RequestOptions = {}): Promise<HttpAnswer> {
    return this.request('POST', path, { ...o, body });
  }
  delete(path: string, o?: RequestOptions): Promise<HttpAnswer> {
    return this.request('DELETE', path, o);
  }
}

/** api_tokens for a test Herald: one token per role. */
export const TOKENS = {
  admin: 'admin-token-0123456789',
  rw: 'rw-token-0123456789',
  read: 'read-token-0123456789',
  exampleOnly: 'example-only-token-0123456789',
} as const;

export const API_TOKENS = [
  { token: TOKENS.admin, scopes: ['admin'] },
  { token: TOKENS.rw, scopes: ['presence:read', 'presence:write'] },
  { token: TOKENS.read, scopes: ['presence:read'] },
  { token: TOKENS.exampleOnly, scopes: ['presence:read', 'presence:write'], domains: ['example.com'] },
];
