/**
 * PresenceError and the code table: every failure a peer can cause has a code that knows its SIP
 * status and reason, its HTTP status and the extra SIP headers the RFCs require with it.
 * Only sip/reply.ts and http/ turn a PresenceError into a response. Broken invariants are plain
 * Errors (SIP 500, HTTP 500).
 */
export const ERROR_CODES = {
  BAD_REQUEST: { sip: 400, reason: 'Bad Request', http: 400 },
  BAD_BODY: { sip: 400, reason: 'Bad Request', http: 400 },
  MISSING_BODY: { sip: 400, reason: 'Bad Request', http: 400 },
  UNAUTHENTICATED: { sip: 401, reason: 'Unauthorized', http: 401 },
  FORBIDDEN: { sip: 403, reason: 'Forbidden', http: 403 },
  NOT_FOUND: { sip: 404, reason: 'Not Found', http: 404 },
  METHOD_NOT_ALLOWED: { sip: 405, reason: 'Method Not Allowed', http: 405 },
  NOT_ACCEPTABLE: { sip: 406, reason: 'Not Acceptable', http: 406 },
  GONE: { sip: 410, reason: 'Gone', http: 410 },
  CONDITIONAL_REQUEST_FAILED: { sip: 412, reason: 'Conditional Request Failed', http: 412 },
  ENTITY_TOO_LARGE: { sip: 413, reason: 'Request Entity Too Large', http: 413 },
  UNSUPPORTED_MEDIA_TYPE: { sip: 415, reason: 'Unsupported Media Type', http: 415 },
  RANGE_NOT_SATISFIABLE: { sip: 416, reason: 'Requested Range Not Satisfiable', http: 416 },
  BAD_EXTENSION: { sip: 420, reason: 'Bad Extension', http: 400 },
  INTERVAL_TOO_BRIEF: { sip: 423, reason: 'Interval Too Brief', http: 400 },
  TOO_MANY_REQUESTS: { sip: 503, reason: 'Service Unavailable', http: 429 },
  // A presentity at max_watchers: temporary and about this resource only. 480 rather than 503, which
  // tells a proxy the whole server is overloaded (RFC 3263 §4.3 moves on to another server).
  TOO_MANY_WATCHERS: { sip: 480, reason: 'Too Many Watchers', http: 429 },
  NO_SUCH_DIALOG: { sip: 481, reason: 'Call/Transaction Does Not Exist', http: 404 },
  TOO_MANY_HOPS: { sip: 483, reason: 'Too Many Hops', http: 400 },
  BAD_EVENT: { sip: 489, reason: 'Bad Event', http: 400 },
  MESSAGE_TOO_LARGE: { sip: 513, reason: 'Message Too Large', http: 413 },
  SERVER_ERROR: { sip: 500, reason: 'Server Internal Error', http: 500 },
  UNAVAILABLE: { sip: 503, reason: 'Service Unavailable', http: 503 },
} as const satisfies Record<string, { sip: number; reason: string; http: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Extra headers for the SIP response (Min-Expires, Allow-Events, Accept, Unsupported, Retry-After...). */
export type ErrorHeaders = Readonly<Record<string, string>>;

export class PresenceError extends Error {
  readonly code: ErrorCode;
  readonly headers: ErrorHeaders;

  constructor(code: ErrorCode, message?: string, headers: ErrorHeaders = {}) {
    super(message ?? ERROR_CODES[code].reason);
    this.name = 'PresenceError';
    this.code = code;
    this.headers = headers;
  }

  get sipStatus(): number {
    return ERROR_CODES[this.code].sip;
  }

  /** Reason phrase: the table's, or the message when it says more (400 names the problem). */
  get sipReason(): string {
    return ERROR_CODES[this.code].reason;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }
}

export function isPresenceError(e: unknown): e is PresenceError {
  return e instanceof PresenceError;
}

/** Connection-level failures of the database (not a bad query): answered 503 + Retry-After, not 500. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);

export function isDatabaseUnavailable(e: unknown): boolean {
  // Duck-typed: socket errors may come from another realm (node core vs a test sandbox), where instanceof fails.
  if (typeof e !== 'object' || e === null) return false;
  const { code, message } = e as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  return typeof message === 'string' && /Timeout acquiring a connection|Connection terminated|connect ECONNREFUSED|Client has encountered a connection error/i.test(message);
}
