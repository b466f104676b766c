/**
 * Raw bytes -> SipMessage (RFC 3261 §7, §18.3, §25). Lazy: the header section is decoded and split
 * into lines once; structured values are parsed only by the headers.ts functions a handler calls.
 * The parser checks only what every request needs (start line, Via, From, To, Call-ID, CSeq) and
 * throws nothing but SipParseError, whatever the input bytes.
 */
import { parseCSeq, SipParseError, TOKEN_RE } from './headers';
import { Headers, type SipMessage, type SipRequest, type SipResponse } from './message';

export { SipParseError } from './headers';

export interface ParseOptions {
  /** The bytes are one UDP datagram: a missing Content-Length means "the rest of the datagram". */
  datagram?: boolean;
}

const LF = 10;
const CR = 13;
const LF_CRLF = Buffer.from('\n\r\n');
const LF_LF = Buffer.from('\n\n');
const EMPTY = Buffer.alloc(0);
const DIGITS_RE = /^\d{1,10}$/;
const URI_RE = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$/;
const SIP_VERSION_RE = /^SIP\/\d+\.\d+$/i;
const REQUIRED_REQUEST = ['Via', 'From', 'To', 'Call-ID', 'CSeq'];
const REQUIRED_RESPONSE = ['Via', 'Call-ID', 'CSeq'];
// RFC 3261 §7.3.1: headers not defined as comma lists appear at most once.
const SINGLE = ['From', 'To', 'Call-ID', 'CSeq', 'Content-Length', 'Max-Forwards'];

export function parseMessage(data: Buffer, opts?: ParseOptions): SipMessage {
  const datagram = opts?.datagram === true;
  try {
    return parse(data, datagram);
  } catch (e) {
    if (e instanceof SipParseError) throw e;
    // Defence in depth: a bug must not let a peer crash the process with another exception type.
    // The fuzz test fails on these (they carry the original error as `cause`).
    throw new SipParseError('Malformed message', { cause: e });
  }
}

function parse(data: Buffer, datagram: boolean): SipMessage {
  // RFC 3261 §7.5: "Implementations processing SIP messages over stream-oriented transports MUST
  // ignore any CRLF appearing before the start-line".
  let start = 0;
  while (start < data.length && (data[start] === CR || data[start] === LF)) start++;
  if (start === data.length) throw new SipParseError('Empty message');
  let { headEnd, bodyStart } = findHeaderEnd(data, start, datagram);
  let text = data.toString('utf8', start, headEnd);
  if (text.indexOf('\n\n') >= 0) {
    // A bare-LF empty line ends the header section before the CRLF one found above.
    headEnd = data.indexOf(LF_LF, start);
    bodyStart = headEnd + 2;
    text = data.toString('utf8', start, headEnd);
  }
  const nul = data.indexOf(0, start);
  if (nul >= 0 && nul < headEnd) throw new SipParseError('NUL byte in headers');
  let lineEnd = text.indexOf('\n');
  if (lineEnd < 0) lineEnd = text.length;
  const startLine = stripCR(text.slice(0, lineEnd));
  if (startLine.indexOf('\r') >= 0) throw new SipParseError('Bad start line', { detail: 'stray CR' });
  const msg = parseStartLine(startLine, splitHeaders(text, lineEnd + 1));
  try {
    checkHeaders(msg, msg.kind === 'request' ? REQUIRED_REQUEST : REQUIRED_RESPONSE);
    msg.body = readBody(data, bodyStart, msg.headers, datagram);
  } catch (e) {
    if (e instanceof SipParseError) e.partial = msg;
    throw e;
  }
  return msg;
}

/** End of the header section: the first CRLF CRLF (else bare LF LF; see parse()). */
function findHeaderEnd(data: Buffer, start: number, datagram: boolean): { headEnd: number; bodyStart: number } {
  const a = data.indexOf(LF_CRLF, start);
  if (a >= 0) return { headEnd: a, bodyStart: a + 3 };
  const b = data.indexOf(LF_LF, start);
  if (b >= 0) return { headEnd: b, bodyStart: b + 2 };
  // A datagram whose last header line ends the datagram: lenient, nothing can follow anyway.
  if (datagram && data[data.length - 1] === LF) return { headEnd: data.length - 1, bodyStart: data.length };
  throw new SipParseError('Incomplete header section');
}

function stripCR(line: string): string {
  return line.charCodeAt(line.length - 1) === CR ? line.slice(0, -1) : line;
}

/** The header lines of `text` from `pos` on, split once into (name as written, trimmed value). */
function splitHeaders(text: string, pos: number): Headers {
  const names: string[] = [];
  const values: string[] = [];
  const n = text.length;
  let nextCr = text.indexOf('\r', pos);
  if (nextCr < 0) nextCr = n;
  while (pos < n) {
    let lineEnd = text.indexOf('\n', pos);
    if (lineEnd < 0) lineEnd = n;
    const end = lineEnd > pos && text.charCodeAt(lineEnd - 1) === CR ? lineEnd - 1 : lineEnd;
    // RFC 3261 §7: lines end with CRLF; a CR anywhere else is not SIP.
    if (nextCr < end) throw new SipParseError('Bad header line', { detail: 'stray CR' });
    if (nextCr < lineEnd) {
      nextCr = text.indexOf('\r', lineEnd);
      if (nextCr < 0) nextCr = n;
    }
    const c0 = text.charCodeAt(pos);
    if (c0 === 32 || c0 === 9) fold(names, values, text.slice(pos, end));
    else readHeaderLine(names, values, text, pos, end);
    pos = lineEnd + 1;
  }
  return Headers.adopt(names, values);
}

// RFC 3261 §7.3.1: "Header fields can be extended over multiple lines by preceding each extra line
// with at least one SP or horizontal tab (HT). The line break and the whitespace at the beginning
// of the next line are treated as a single SP character."
function fold(names: string[], values: string[], line: string): void {
  const last = values.length - 1;
  if (last < 0) throw new SipParseError('Bad header line', { detail: 'continuation before any header' });
  const more = line.trim();
  if (more !== '') values[last] = values[last] === '' ? more : `${values[last] as string} ${more}`;
}

function readHeaderLine(names: string[], values: string[], text: string, pos: number, end: number): void {
  const colon = text.indexOf(':', pos);
  if (colon < 0 || colon >= end) throw new SipParseError('Bad header line', { detail: text.slice(pos, end) });
  // RFC 3261 §7.3.1: HCOLON = *( SP / HTAB ) ":" SWS
  let nameEnd = colon;
  while (nameEnd > pos && isBlank(text.charCodeAt(nameEnd - 1))) nameEnd--;
  if (!isToken(text, pos, nameEnd)) throw new SipParseError('Bad header name', { detail: text.slice(pos, nameEnd) });
  names.push(text.slice(pos, nameEnd));
  values.push(text.slice(colon + 1, end).trim());
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

// RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" )
const TOKEN_CHARS = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~") {
  TOKEN_CHARS[c.charCodeAt(0)] = 1;
}

function isToken(text: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TOKEN_CHARS[c] !== 1) return false;
  }
  return true;
}

function parseStartLine(line: string, headers: Headers): SipRequest | SipResponse {
  const body = EMPTY;
  // RFC 3261 §7.2: Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF
  if (line.length >= 4 && line.slice(0, 4).toUpperCase() === 'SIP/') {
    const sp1 = line.indexOf(' ');
    const sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
    const version = sp1 < 0 ? line : line.slice(0, sp1);
    const code = sp1 < 0 ? '' : line.slice(sp1 + 1, sp2 < 0 ? line.length : sp2);
    checkVersion(version, 'Bad Status-Line');
    if (!/^[1-6]\d\d$/.test(code)) throw new SipParseError('Bad Status-Line', { detail: 'status code' });
    const reason = sp2 < 0 ? '' : line.slice(sp2 + 1);
    return { kind: 'response', status: Number(code), reason, headers, body };
  }
  // RFC 3261 §7.1: Request-Line = Method SP Request-URI SP SIP-Version CRLF
  const parts = line.split(' ');
  if (parts.length !== 3) throw new SipParseError('Bad Request-Line');
  const [method, uri, version] = parts as [string, string, string];
  if (!TOKEN_RE.test(method)) throw new SipParseError('Bad Request-Line', { detail: 'method' });
  if (!URI_RE.test(uri)) throw new SipParseError('Bad Request-Line', { detail: 'Request-URI' });
  checkVersion(version, 'Bad Request-Line');
  return { kind: 'request', method, uri, headers, body };
}

// RFC 3261 §7.1: "The SIP-Version string is case-insensitive, but implementations MUST send
// upper-case." Any other well-formed version is answered 505 Version Not Supported (§21.5.6).
function checkVersion(version: string, reason: string): void {
  if (version.toUpperCase() === 'SIP/2.0') return;
  if (SIP_VERSION_RE.test(version)) throw new SipParseError('Version Not Supported', { status: 505 });
  throw new SipParseError(reason, { detail: 'SIP-Version' });
}

function checkHeaders(msg: SipMessage, required: string[]): void {
  const h = msg.headers;
  for (const name of required) {
    const v = h.get(name);
    if (v === undefined) throw new SipParseError(`Missing ${name}`);
    if (v === '') throw new SipParseError(`Bad ${name}`, { detail: 'empty' });
  }
  for (const name of SINGLE) if (h.countOf(name) > 1) throw new SipParseError(`Duplicate ${name}`);
  const cseq = parseCSeq(h.get('CSeq') as string);
  // RFC 3261 §20.16: "The method MUST match that of the request."
  if (msg.kind === 'request' && cseq.method !== msg.method) throw new SipParseError('CSeq method mismatch');
  const mf = h.get('Max-Forwards');
  // RFC 3261 §20.22: Max-Forwards = "Max-Forwards" HCOLON 1*DIGIT
  if (mf !== undefined && !DIGITS_RE.test(mf)) throw new SipParseError('Bad Max-Forwards');
}

function readBody(data: Buffer, bodyStart: number, headers: Headers, datagram: boolean): Buffer {
  const available = data.length - bodyStart;
  const raw = headers.get('Content-Length');
  if (raw === undefined) {
    // RFC 3261 §18.3: "If the message has no Content-Length header field, the message body is
    // assumed to end at the end of the transport packet." ... "All stream-oriented transports
    // MUST use Content-Length to indicate the size of the body."
    if (!datagram) throw new SipParseError('Missing Content-Length');
    return data.subarray(bodyStart);
  }
  if (!DIGITS_RE.test(raw)) throw new SipParseError('Bad Content-Length');
  // RFC 3261 §20.14: "The Content-Length header field indicates the size of the message-body, in
  // decimal number of octets".
  const length = Number(raw);
  // RFC 3261 §18.3: "If the transport packet ends before the end of the message body, this is
  // considered an error."
  if (length > available) throw new SipParseError('Bad Content-Length', { detail: 'longer than the message' });
  // RFC 3261 §18.3: "If there are additional bytes in the transport packet beyond the end of the
  // body, they MUST be discarded."
  return data.subarray(bodyStart, bodyStart + length);
}
