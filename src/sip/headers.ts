/**
 * Structured SIP header values (RFC 3261 §20, §25.1): name-addr, Via, CSeq, parameters, Event
 * (RFC 6665 §8.2.1) and media types. Every parser here throws only SipParseError, whose `reason`
 * is short enough to be a 400 reason phrase.
 */
import type { SipMessage } from './message';

export class SipParseError extends Error {
  /** Short phrase usable as a reason phrase ("Bad CSeq", "Missing Call-ID"). */
  readonly reason: string;
  /** The SIP status a server should answer with (400 unless the rule names another). */
  readonly status: number;
  /** What the parser managed to read before the problem (start line and headers), so a server can
   *  still answer 400 to a request whose Via/From/To/Call-ID/CSeq are readable. */
  partial?: SipMessage;

  /** `cause` is set only when the parser caught an unexpected error (a bug, see parseMessage). */
  constructor(reason: string, opts: { status?: number; detail?: string; cause?: unknown } = {}) {
    super(opts.detail ? `${reason}: ${opts.detail}` : reason, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SipParseError';
    this.reason = reason;
    this.status = opts.status ?? 400;
  }
}

export interface NameAddr {
  displayName: string | null;
  uri: string;
  params: Map<string, string | null>;
}

export interface ViaValue {
  protocol: string;
  transport: string;
  host: string;
  port: number | null;
  params: Map<string, string | null>;
  branch: string | null;
}

// RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" )
const TOKEN = "[A-Za-z0-9\\-.!%*_+`'~]+";
export const TOKEN_RE = new RegExp(`^${TOKEN}$`);
const CSEQ_RE = new RegExp(`^(\\d{1,10})[ \\t]+(${TOKEN})$`);
const MEDIA_RE = new RegExp(`^(${TOKEN})[ \\t]*/[ \\t]*(${TOKEN})[ \\t]*(;[^]*)?$`);
// RFC 3261 §20.42: via-parm = sent-protocol LWS sent-by *( SEMI via-params ); SLASH = SWS "/" SWS
const VIA_RE = new RegExp(
  `^(${TOKEN})[ \\t]*/[ \\t]*(${TOKEN})[ \\t]*/[ \\t]*(${TOKEN})[ \\t]+` +
    '(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._\\-]+)(?:[ \\t]*:[ \\t]*(\\d{1,5}))?[ \\t]*(;[^]*)?$',
);
const URI_LIKE_RE = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"]+$/;

const QUOTE = 34; // "
const BACKSLASH = 92;
const LT = 60;
const GT = 62;
const SEMI = 59;

/**
 * Split on `sep` outside quoted strings and <...>: the splitting rule of comma-list header values
 * (RFC 3261 §7.3.1: "a header field row ... containing a comma-separated list") and parameters.
 * Elements are trimmed; empty elements are dropped.
 */
export function splitTopLevel(value: string, sep: string): string[] {
  if (value.indexOf('"') < 0 && value.indexOf('<') < 0) return trimmedNonEmpty(value.split(sep));
  const out: string[] = [];
  const sepCode = sep.charCodeAt(0);
  let inQuote = false;
  let inAngle = false;
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inQuote = false;
    } else if (c === QUOTE) inQuote = true;
    else if (c === LT) inAngle = true;
    else if (c === GT) inAngle = false;
    else if (c === sepCode && !inAngle) {
      out.push(value.slice(from, i));
      from = i + 1;
    }
  }
  out.push(value.slice(from));
  return trimmedNonEmpty(out);
}

function trimmedNonEmpty(parts: string[]): string[] {
  const out: string[] = [];
  for (const p of parts) {
    const t = p.trim();
    if (t !== '') out.push(t);
  }
  return out;
}

/** Index of the closing quote of the quoted-string opening at `open`, or -1. */
function closingQuote(s: string, open: number): number {
  for (let i = open + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i;
  }
  return -1;
}

/** Index of `ch` outside quoted strings, or -1. */
function indexOutsideQuotes(s: string, ch: number, from = 0): number {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === ch) return i;
    if (c === QUOTE) {
      const end = closingQuote(s, i);
      if (end < 0) return -1;
      i = end;
    }
  }
  return -1;
}

// RFC 3261 §25.1: quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
function unquote(v: string): string {
  if (v.length < 2 || v.charCodeAt(0) !== QUOTE || v.charCodeAt(v.length - 1) !== QUOTE) return v;
  const inner = v.slice(1, -1);
  return inner.indexOf('\\') < 0 ? inner : inner.replace(/\\([^])/g, '$1');
}

/** ";a=1;b" -> {a: '1', b: null}. Names lower-cased; quoted-string values unquoted; first wins. */
export function parseParams(s: string): Map<string, string | null> {
  const out = new Map<string, string | null>();
  const n = s.length;
  let i = 0;
  while (i < n) {
    // Name: up to '=' or ';'. Value: up to the next ';' outside a quoted string.
    let j = i;
    let c = 0;
    while (j < n && (c = s.charCodeAt(j)) !== 61 /* = */ && c !== SEMI) j++;
    // RFC 3261 §7.3.1: parameter names are case-insensitive (values keep their case).
    const name = s.slice(i, j).trim().toLowerCase();
    let value: string | null = null;
    if (j < n && c === 61) {
      const from = j + 1;
      for (j = from; j < n && (c = s.charCodeAt(j)) !== SEMI; j++) {
        if (c === QUOTE) {
          const end = closingQuote(s, j);
          j = end < 0 ? n - 1 : end;
        }
      }
      value = unquote(s.slice(from, j).trim());
    }
    if (name !== '' && !out.has(name)) out.set(name, value);
    i = j + 1;
  }
  return out;
}

/** name-addr (`"Alice" <sip:a@h>;tag=1`) or addr-spec (`sip:a@h;tag=1`). */
export function parseNameAddr(value: string, what = 'name-addr'): NameAddr {
  const bad = (detail: string) => new SipParseError(`Bad ${what}`, { detail });
  const v = value.trim();
  let displayName: string | null = null;
  let lt: number;
  if (v.charCodeAt(0) === QUOTE) {
    const end = closingQuote(v, 0);
    if (end < 0) throw bad('unterminated display name');
    displayName = unquote(v.slice(0, end + 1));
    lt = v.indexOf('<', end + 1);
    if (lt < 0 || v.slice(end + 1, lt).trim() !== '') throw bad('expected <URI> after display name');
  } else {
    lt = indexOutsideQuotes(v, LT);
    if (lt > 0) displayName = v.slice(0, lt).trim() || null;
  }
  let uri: string;
  let rest: string;
  if (lt >= 0) {
    const gt = v.indexOf('>', lt);
    if (gt < 0) throw bad('missing >');
    uri = v.slice(lt + 1, gt).trim();
    rest = v.slice(gt + 1).trim();
  } else {
    // RFC 3261 §20.10: "If the URI is not enclosed in angle brackets, any semicolon-delimited
    // parameters are header-parameters, not URI parameters."
    const semi = v.indexOf(';');
    uri = (semi < 0 ? v : v.slice(0, semi)).trim();
    rest = semi < 0 ? '' : v.slice(semi);
  }
  if (uri !== '*' && !URI_LIKE_RE.test(uri)) throw bad('bad URI');
  if (rest !== '' && rest.charCodeAt(0) !== 59 /* ; */) throw bad('junk after URI');
  return { displayName, uri, params: parseParams(rest) };
}

/** One Via value; given a comma list (a whole header line), the first (topmost) element. */
export function parseVia(value: string): ViaValue {
  const first = value.indexOf(',') < 0 ? value.trim() : (splitTopLevel(value, ',')[0] ?? '');
  const m = VIA_RE.exec(first);
  if (!m) throw new SipParseError('Bad Via', { detail: first.slice(0, 80) });
  const transport = (m[3] as string).toUpperCase();
  const port = m[5] === undefined ? null : Number(m[5]);
  if (port !== null && port > 65535) throw new SipParseError('Bad Via', { detail: 'port' });
  const params = parseParams(m[6] ?? '');
  const protocol = `${m[1] as string}/${m[2] as string}/${transport}`.toUpperCase();
  return { protocol, transport, host: m[4] as string, port, params, branch: params.get('branch') ?? null };
}

/**
 * RFC 3261 §20.16: CSeq = 1*DIGIT LWS Method. §8.1.1.5: "The sequence number value MUST be
 * expressible as a 32-bit unsigned integer and MUST be less than 2**31" (we store it as int4).
 */
export function parseCSeq(value: string): { seq: number; method: string } {
  const m = CSEQ_RE.exec(value.trim());
  if (!m) throw new SipParseError('Bad CSeq');
  const seq = Number(m[1]);
  if (seq >= 2 ** 31) throw new SipParseError('Bad CSeq', { detail: 'sequence number too large' });
  return { seq, method: m[2] as string };
}

/** RFC 6665 §8.2.1: Event = ( "Event" / "o" ) HCOLON event-type *( SEMI event-param ). */
export function parseEvent(value: string): {
  event: string;
  id: string | null;
  params: Map<string, string | null>;
} {
  const v = value.trim();
  const semi = v.indexOf(';');
  const event = (semi < 0 ? v : v.slice(0, semi)).trim();
  if (!TOKEN_RE.test(event)) throw new SipParseError('Bad Event');
  const params = parseParams(semi < 0 ? '' : v.slice(semi));
  return { event: event.toLowerCase(), id: params.get('id') ?? null, params };
}

/** RFC 3261 §20.15: media-type = m-type SLASH m-subtype *(SEMI m-parameter); lower-cased type. */
export function parseMediaType(value: string): { type: string; params: Map<string, string | null> } {
  const m = MEDIA_RE.exec(value.trim());
  if (!m) throw new SipParseError('Bad Content-Type');
  return { type: `${m[1] as string}/${m[2] as string}`.toLowerCase(), params: parseParams(m[3] ?? '') };
}
