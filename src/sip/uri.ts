/**
 * SIP/SIPS URIs (RFC 3261 §19.1, §25.1), pres: URIs (RFC 3859, same shape) and a minimal tel:
 * (RFC 3966: the number goes in `user`, host is empty). Components are kept as written (escapes
 * included) so formatUri(parseUri(s)) gives s back; only the scheme and parameter names are
 * lower-cased. Throws only SipParseError.
 */
import { SipParseError } from './headers';

export interface SipUri {
  scheme: string;
  user: string | null;
  password: string | null;
  host: string;
  port: number | null;
  params: Map<string, string | null>;
  headers: Map<string, string>;
}

const SCHEME_RE = /^[a-z][a-z0-9+.-]*$/;
// RFC 3261 §25.1: no SP, CTL, '<', '>' or '"' in any URI component (they must be %-escaped).
const FORBIDDEN_RE = /[\x00-\x20\x7f<>"]/;
const HOSTNAME_RE = /^[A-Za-z0-9._-]+$/;
// RFC 3261 §25.1: IPv6reference = "[" IPv6address "]"
const IPV6_REF_RE = /^\[[0-9A-Fa-f:.]+\]$/;
const PORT_RE = /^\d{1,5}$/;
const TEL_RE = /^[0-9A-Fa-f*#+\-.()pPwW]+$/;

function bad(detail: string): SipParseError {
  return new SipParseError('Bad URI', { detail });
}

export function parseUri(s: string): SipUri {
  const str = s.trim();
  if (FORBIDDEN_RE.test(str)) throw bad('forbidden character');
  const colon = str.indexOf(':');
  if (colon <= 0) throw bad('no scheme');
  // RFC 3261 §19.1.4: scheme comparison is case-insensitive.
  const scheme = str.slice(0, colon).toLowerCase();
  if (!SCHEME_RE.test(scheme)) throw bad('scheme');
  const rest = str.slice(colon + 1);
  if (scheme === 'tel') return parseTel(rest);
  if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'pres') {
    // RFC 3261 §21.4.15: 416 Unsupported URI Scheme
    throw new SipParseError('Unsupported URI Scheme', { status: 416, detail: scheme });
  }
  return parseSipLike(scheme, rest);
}

// RFC 3261 §19.1.1: sip:user:password@host:port;uri-parameters?headers
function parseSipLike(scheme: string, rest: string): SipUri {
  // A user part may hold ';' and '?' (user-unreserved) but never an unescaped '@'.
  const at = rest.indexOf('@');
  const userinfo = at < 0 ? null : rest.slice(0, at);
  let hostPart = at < 0 ? rest : rest.slice(at + 1);
  const q = hostPart.indexOf('?');
  const headers = q < 0 ? new Map<string, string>() : parseUriHeaders(hostPart.slice(q + 1));
  if (q >= 0) hostPart = hostPart.slice(0, q);
  const semi = hostPart.indexOf(';');
  const params = parseUriParams(semi < 0 ? '' : hostPart.slice(semi + 1));
  const { host, port } = parseHostPort(semi < 0 ? hostPart : hostPart.slice(0, semi));
  let user: string | null = null;
  let password: string | null = null;
  if (userinfo !== null) {
    const c = userinfo.indexOf(':');
    user = c < 0 ? userinfo : userinfo.slice(0, c);
    password = c < 0 ? null : userinfo.slice(c + 1);
    if (user === '') throw bad('empty user');
  }
  return { scheme, user, password, host, port, params, headers };
}

function parseHostPort(hp: string): { host: string; port: number | null } {
  let host: string;
  let portText: string | null = null;
  if (hp.startsWith('[')) {
    const end = hp.indexOf(']');
    if (end < 0) throw bad('unterminated IPv6 reference');
    host = hp.slice(0, end + 1);
    const after = hp.slice(end + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw bad('junk after IPv6 reference');
      portText = after.slice(1);
    }
    if (!IPV6_REF_RE.test(host)) throw bad('IPv6 reference');
  } else {
    const c = hp.indexOf(':');
    host = c < 0 ? hp : hp.slice(0, c);
    if (c >= 0) portText = hp.slice(c + 1);
    if (!HOSTNAME_RE.test(host)) throw bad('host');
  }
  if (portText === null) return { host, port: null };
  if (!PORT_RE.test(portText) || Number(portText) > 65535) throw bad('port');
  return { host, port: Number(portText) };
}

// RFC 3261 §19.1.1: uri-parameters = *( ";" uri-parameter ); names compare case-insensitively.
function parseUriParams(s: string): Map<string, string | null> {
  const params = new Map<string, string | null>();
  if (s === '') return params;
  for (const p of s.split(';')) {
    if (p === '') continue;
    const eq = p.indexOf('=');
    const name = (eq < 0 ? p : p.slice(0, eq)).toLowerCase();
    if (name === '') throw bad('empty parameter name');
    if (!params.has(name)) params.set(name, eq < 0 ? null : p.slice(eq + 1));
  }
  return params;
}

// RFC 3261 §19.1.1: headers = "?" header *( "&" header ); header = hname "=" hvalue
function parseUriHeaders(s: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const h of s.split('&')) {
    if (h === '') continue;
    const eq = h.indexOf('=');
    headers.set(eq < 0 ? h : h.slice(0, eq), eq < 0 ? '' : h.slice(eq + 1));
  }
  return headers;
}

// RFC 3966 §3: telephone-subscriber *par; minimal: the number and its parameters.
function parseTel(rest: string): SipUri {
  const semi = rest.indexOf(';');
  const number = semi < 0 ? rest : rest.slice(0, semi);
  if (!TEL_RE.test(number)) throw bad('telephone number');
  const params = parseUriParams(semi < 0 ? '' : rest.slice(semi + 1));
  return { scheme: 'tel', user: number, password: null, host: '', port: null, params, headers: new Map() };
}

export function formatUri(u: SipUri): string {
  let s = `${u.scheme}:`;
  if (u.scheme === 'tel') return s + (u.user ?? '') + formatParams(u.params);
  if (u.user !== null) s += u.password === null ? `${u.user}@` : `${u.user}:${u.password}@`;
  // RFC 3261 §19.1.2 / §25.1: an IPv6 host is written as an IPv6reference, in brackets.
  s += u.host.includes(':') && !u.host.startsWith('[') ? `[${u.host}]` : u.host;
  if (u.port !== null) s += `:${u.port}`;
  s += formatParams(u.params);
  if (u.headers.size > 0) {
    s += `?${Array.from(u.headers, ([k, v]) => `${k}=${v}`).join('&')}`;
  }
  return s;
}

function formatParams(params: Map<string, string | null>): string {
  let s = '';
  for (const [k, v] of params) s += v === null ? `;${k}` : `;${k}=${v}`;
  return s;
}
