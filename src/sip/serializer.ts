/**
 * SipMessage -> bytes. Header order is kept as inserted; Content-Length is always written last,
 * computed from the body's BYTES (a given Content-Length header, full or compact, is dropped).
 * A header name that is not a token, or a value with CR/LF/NUL, is a programming error (it would
 * let a peer-supplied string inject headers) and throws a plain Error.
 */
import { TOKEN_RE } from './headers';
import type { SipMessage } from './message';

const UNSAFE_VALUE_RE = /[\r\n\0]/;
const UNSAFE_START_RE = /[\s\0]/;

export function serialize(msg: SipMessage): Buffer {
  const body = bodyBytes(msg.body);
  let head = startLine(msg);
  msg.headers.forEach((name, value) => {
    if (isContentLength(name)) return;
    if (!TOKEN_RE.test(name)) throw new Error(`serialize: invalid header name ${JSON.stringify(name)}`);
    if (UNSAFE_VALUE_RE.test(value)) throw new Error(`serialize: CR/LF/NUL in header ${name}`);
    head += value === '' ? `${name}:\r\n` : `${name}: ${value}\r\n`;
  });
  // RFC 3261 §20.14: "The Content-Length header field indicates the size of the message-body, in
  // decimal number of octets, sent to the recipient."
  head += `Content-Length: ${body.length}\r\n\r\n`;
  const headLength = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLength + body.length);
  out.write(head, 0, headLength, 'utf8');
  body.copy(out, headLength);
  return out;
}

function startLine(msg: SipMessage): string {
  if (msg.kind === 'request') {
    // RFC 3261 §7.1: Request-Line = Method SP Request-URI SP SIP-Version CRLF
    if (!TOKEN_RE.test(msg.method)) throw new Error(`serialize: invalid method ${JSON.stringify(msg.method)}`);
    if (msg.uri === '' || UNSAFE_START_RE.test(msg.uri)) throw new Error('serialize: invalid Request-URI');
    return `${msg.method} ${msg.uri} SIP/2.0\r\n`;
  }
  // RFC 3261 §7.2: Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF
  if (!Number.isInteger(msg.status) || msg.status < 100 || msg.status > 699) {
    throw new Error(`serialize: invalid status ${msg.status}`);
  }
  if (UNSAFE_VALUE_RE.test(msg.reason)) throw new Error('serialize: CR/LF/NUL in reason phrase');
  return `SIP/2.0 ${msg.status} ${msg.reason}\r\n`;
}

function isContentLength(name: string): boolean {
  return name.length === 1 ? name === 'l' || name === 'L' : name.toLowerCase() === 'content-length';
}

/** The body as bytes. A string (a caller bypassing the types) is UTF-8 encoded, never char-counted. */
function bodyBytes(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  throw new Error('serialize: the body must be a Buffer');
}
