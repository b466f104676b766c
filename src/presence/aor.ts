/**
 * Address-of-record canonicalisation: the one function that decides whether two URIs name the same
 * presentity or watcher. Used by SIP (Request-URI, From, To) and HTTP ({domain}/{user}) alike.
 *
 * Rule: scheme sip/sips/pres is kept as `sip` (RFC 3856 §3: a pres: URI resolves to the same
 * presentity as its sip: form), the user part is kept as written (RFC 3261 §19.1.4: user parts
 * compare case-sensitively) after %-unescaping unreserved characters, the host is lower-cased
 * (hosts compare case-insensitively), and port, URI parameters and headers are dropped (linphone
 * drops the port in From/To while its Request-URI keeps it; both name the same presentity).
 */
export function canonicalAor(uri: string): string | undefined {
  let s = uri.trim();
  if (s.startsWith('<') && s.endsWith('>')) s = s.slice(1, -1);
  const colon = s.indexOf(':');
  if (colon <= 0) return undefined;
  const scheme = s.slice(0, colon).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'pres') return undefined;
  let rest = s.slice(colon + 1);
  // Drop URI parameters and headers (everything from the first ';' or '?' after the host part).
  const at = rest.lastIndexOf('@');
  const hostStart = at + 1;
  const cut = firstOf(rest, hostStart, ';?');
  rest = rest.slice(0, cut);
  let user = at >= 0 ? rest.slice(0, at) : '';
  const hostPort = rest.slice(hostStart);
  // A user part may carry a password (user:password); it is not part of the identity.
  const pw = user.indexOf(':');
  if (pw >= 0) user = user.slice(0, pw);
  user = unescapeUnreserved(user);
  const host = stripPort(hostPort).toLowerCase();
  if (!host || !/^[a-z0-9.\-_]+$|^\[[0-9a-f:.]+\]$/.test(host)) return undefined;
  if (user && /[\s<>"]/.test(user)) return undefined;
  return user ? `sip:${user}@${host}` : `sip:${host}`;
}

/** `sip:alice@example.com` → { user: 'alice', domain: 'example.com' }. */
export function splitAor(aor: string): { user: string; domain: string } {
  const body = aor.replace(/^sip:/, '');
  const at = body.lastIndexOf('@');
  return at < 0 ? { user: '', domain: body } : { user: body.slice(0, at), domain: body.slice(at + 1) };
}

/** The AOR of a `{domain}/{user}` HTTP path. */
export function aorOf(domain: string, user: string): string | undefined {
  return canonicalAor(`sip:${user}@${domain}`);
}

function firstOf(s: string, from: number, chars: string): number {
  for (let i = from; i < s.length; i++) if (chars.includes(s[i] as string)) return i;
  return s.length;
}

function stripPort(hostPort: string): string {
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']');
    return end < 0 ? '' : hostPort.slice(0, end + 1);
  }
  const c = hostPort.indexOf(':');
  return c < 0 ? hostPort : hostPort.slice(0, c);
}

function unescapeUnreserved(user: string): string {
  return user.replace(/%([0-9a-fA-F]{2})/g, (m, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-_.!~*'()]/.test(ch) ? ch : m.toUpperCase();
  });
}
