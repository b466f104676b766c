/**
 * Every HTTP error is JSON `{code, message}` with a code of the shared table (src/errors.ts): the
 * domain's PresenceErrors, fastify's own (validation → 400 naming the field, bad JSON → 400, body too
 * large → 413, unsupported type → 415, unknown route → 404) and anything else (500, logged).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, isDatabaseUnavailable, isPresenceError, type ErrorCode } from '../errors';

export interface HttpError {
  status: number;
  code: ErrorCode;
  message: string;
  headers: Record<string, string>;
}

/** Headers of a PresenceError that mean something over HTTP (the others are SIP's). */
const HTTP_HEADERS = ['WWW-Authenticate', 'Content-Range', 'Retry-After', 'Allow', 'Herald-Oldest-Seq'];

interface ValidationIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

export function toHttpError(err: unknown): HttpError {
  if (isPresenceError(err)) {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(err.headers)) if (HTTP_HEADERS.includes(k)) headers[k] = v;
    return { status: err.httpStatus, code: err.code, message: err.message, headers };
  }
  // The database is out of reach: come back later (RFC 9110 §15.6.4: "The server MAY send a Retry-After
  // header field to suggest an appropriate amount of time for the client to wait"), not a 500.
  if (isDatabaseUnavailable(err)) return { ...plain('UNAVAILABLE', 'the database is unavailable, retry later'), headers: { 'Retry-After': '5' } };
  const e = err as Partial<FastifyError> & { validation?: ValidationIssue[]; validationContext?: string };
  if (Array.isArray(e.validation) && e.validation.length > 0) {
    return plain('BAD_REQUEST', validationMessage(e.validationContext ?? 'request', e.validation[0] as ValidationIssue));
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return plain('ENTITY_TOO_LARGE', 'request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return plain('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return plain('BAD_BODY', 'body is empty but Content-Type is application/json');
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return plain('BAD_BODY', 'body is not valid JSON');
    default: break;
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    if (err instanceof SyntaxError) return plain('BAD_BODY', 'body is not valid JSON');
    return { status, code: codeFor(status), message: e.message ?? 'bad request', headers: {} };
  }
  return plain('SERVER_ERROR', 'internal error');
}

function plain(code: ErrorCode, message: string): HttpError {
  return { status: ERROR_CODES[code].http, code, message, headers: {} };
}

function codeFor(status: number): ErrorCode {
  const hit = (Object.keys(ERROR_CODES) as ErrorCode[]).find((c) => ERROR_CODES[c].http === status);
  return hit ?? (status >= 500 ? 'SERVER_ERROR' : 'BAD_REQUEST');
}

/** `body.status must be one of online, busy, …`, `body.uris is required`, `querystring.foo is not allowed`. */
export function validationMessage(context: string, v: ValidationIssue): string {
  const path = [context, ...v.instancePath.split('/').filter(Boolean)].join('.');
  switch (v.keyword) {
    case 'required': return `${path}.${String(v.params.missingProperty)} is required`;
    case 'additionalProperties': return `${path}.${String(v.params.additionalProperty)} is not allowed`;
    case 'enum': return `${path} must be one of ${(v.params.allowedValues as unknown[]).join(', ')}`;
    default: return `${path} ${v.message ?? 'is not valid'}`;
  }
}

export function sendError(reply: FastifyReply, e: HttpError): FastifyReply {
  return reply.code(e.status).headers(e.headers).type('application/json; charset=utf-8').send({ code: e.code, message: e.message });
}

/** The error handler for the whole server: 5xx are logged (method and route only, never headers). */
export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = toHttpError(err);
  if (e.status >= 500) req.log.error({ err, method: req.method, route: req.routeOptions.url }, 'HTTP request failed');
  return sendError(reply, e);
}

export function notFoundHandler(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = (req.url.split('?')[0] ?? '').slice(0, 200);
  return sendError(reply, plain('NOT_FOUND', `no route ${req.method} ${path}`));
}
