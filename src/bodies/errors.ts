/**
 * The one error the codecs throw. `code` is a key of the PresenceError table in src/errors.ts:
 * BAD_BODY → SIP 400 / HTTP 400, ENTITY_TOO_LARGE → SIP 413 / HTTP 413. Callers map it with
 * `new PresenceError(e.code, e.reason)`; `reason` is a short human phrase safe to put on the wire.
 */
export type BodyErrorCode = 'BAD_BODY' | 'ENTITY_TOO_LARGE';

export class BodyError extends Error {
  readonly code: BodyErrorCode;
  readonly reason: string;

  constructor(code: BodyErrorCode, reason: string) {
    super(reason);
    this.name = 'BodyError';
    this.code = code;
    this.reason = reason;
  }
}

export function isBodyError(e: unknown): e is BodyError {
  return e instanceof BodyError;
}
