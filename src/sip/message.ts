/**
 * The SIP message model: a request or response with an ordered header list and a byte body.
 * Headers are kept as written (name, raw value) and indexed lazily by canonical lower-case name,
 * so a handler pays only for the headers it reads.
 */
import { splitTopLevel } from './headers';

export interface SipRequest {
  kind: 'request';
  method: string;
  uri: string;
  headers: Headers;
  body: Buffer;
}

export interface SipResponse {
  kind: 'response';
  status: number;
  reason: string;
  headers: Headers;
  body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

export function isRequest(m: SipMessage): m is SipRequest {
  return m.kind === 'request';
}

// RFC 3261 §7.3.3 compact forms (plus the IANA-registered ones of RFC 3515, 3892, 4028, 3841, 4474).
const COMPACT = new Map<string, string>([
  ['i', 'call-id'],
  ['f', 'from'],
  ['t', 'to'],
  ['v', 'via'],
  ['m', 'contact'],
  ['l', 'content-length'],
  ['c', 'content-type'],
  ['k', 'supported'],
  ['o', 'event'],
  ['u', 'allow-events'],
  ['e', 'content-encoding'],
  ['s', 'subject'],
  ['r', 'refer-to'],
  ['b', 'referred-by'],
  ['x', 'session-expires'],
  ['a', 'accept-contact'],
  ['j', 'reject-contact'],
  ['d', 'request-disposition'],
  ['y', 'identity'],
  ['n', 'identity-info'],
]);

// RFC 3261 §7.3.1: "Multiple header field rows with the same field-name MAY be present in a
// message if and only if the entire field-value for that header field is defined as a
// comma-separated list".
const LIST_HEADERS = new Set([
  'via',
  'route',
  'record-route',
  'contact',
  'allow',
  'allow-events',
  'supported',
  'require',
  'proxy-require',
  'unsupported',
  'accept',
  'accept-encoding',
  'accept-language',
  'content-encoding',
  'content-language',
  'path',
  'service-route',
]);

// The usual spellings, mapped once: the index then needs no toLowerCase() for common headers.
// (Not grown at run time, so a peer cannot fill it with junk names.)
const KNOWN = new Map<string, string>();
for (const full of [
  'Via', 'From', 'To', 'Call-ID', 'Call-Id', 'CSeq', 'Contact', 'Max-Forwards', 'Content-Length',
  'Content-Type', 'Event', 'Expires', 'User-Agent', 'Server', 'Supported', 'Allow', 'Accept',
  'Allow-Events', 'SIP-If-Match', 'SIP-ETag', 'Subscription-State', 'Route', 'Record-Route',
  'Require', 'Proxy-Require', 'Unsupported', 'Min-Expires', 'Authorization', 'WWW-Authenticate',
  'Proxy-Authorization', 'Proxy-Authenticate', 'Accept-Encoding', 'Accept-Language', 'Date',
  'Content-Encoding', 'Timestamp', 'Warning', 'Retry-After', 'Path', 'Organization', 'Subject',
]) {
  KNOWN.set(full, full.toLowerCase());
  KNOWN.set(full.toLowerCase(), full.toLowerCase());
}
for (const [short, full] of COMPACT) {
  KNOWN.set(short, full);
  KNOWN.set(short.toUpperCase(), full);
}

/** Canonical index key: lower-cased, compact form expanded. */
export function canonicalName(name: string): string {
  const known = KNOWN.get(name);
  if (known !== undefined) return known;
  // RFC 3261 §7.3.1: header field names are case-insensitive.
  const lower = name.toLowerCase();
  return lower.length === 1 ? (COMPACT.get(lower) ?? lower) : lower;
}

export function isListHeader(name: string): boolean {
  return LIST_HEADERS.has(canonicalName(name));
}

export class Headers {
  private names: string[] = [];
  private values: string[] = [];
  /** Lazy index: canonical name -> first position; `next` chains the later positions (-1 ends). */
  private index: Map<string, number> | null = null;
  private next: number[] = [];

  constructor(entries?: Array<[string, string]>) {
    if (entries) for (const [n, v] of entries) this.append(n, v);
  }

  /** Adopt parallel arrays (names as written, trimmed values) without copying; for the parser. */
  static adopt(names: string[], values: string[]): Headers {
    const h = new Headers();
    h.names = names;
    h.values = values;
    return h;
  }

  /** First occurrence, raw (trimmed) value. */
  get(name: string): string | undefined {
    const i = this.first(name);
    return i < 0 ? undefined : this.values[i];
  }

  /** Every value, comma lists split outside quotes and <...>, in order across repeated lines. */
  getAll(name: string): string[] {
    const out: string[] = [];
    const list = LIST_HEADERS.has(canonicalName(name));
    for (let i = this.first(name); i >= 0; i = this.next[i] as number) {
      const v = this.values[i] as string;
      if (list) out.push(...splitTopLevel(v, ','));
      else out.push(v);
    }
    return out;
  }

  has(name: string): boolean {
    return this.first(name) >= 0;
  }

  /** How many lines carry this header (a comma list on one line counts once). */
  countOf(name: string): number {
    let n = 0;
    for (let i = this.first(name); i >= 0; i = this.next[i] as number) n++;
    return n;
  }

  /** Replace all occurrences, keeping the position of the first (append if absent). */
  set(name: string, value: string): void {
    const first = this.first(name);
    if (first < 0) return this.append(name, value);
    const later: number[] = [];
    for (let i = this.next[first] as number; i >= 0; i = this.next[i] as number) later.push(i);
    this.names[first] = name;
    this.values[first] = value.trim();
    for (let k = later.length - 1; k >= 0; k--) this.removeAt(later[k] as number);
    this.index = null;
  }

  append(name: string, value: string): void {
    const i = this.names.push(name) - 1;
    this.values.push(value.trim());
    if (this.index === null) return;
    this.next[i] = -1;
    const key = canonicalName(name);
    let last = this.index.get(key);
    if (last === undefined) {
      this.index.set(key, i);
      return;
    }
    for (let after = this.next[last] ?? -1; after >= 0; after = this.next[last] ?? -1) last = after;
    this.next[last] = i;
  }

  delete(name: string): void {
    const at: number[] = [];
    for (let i = this.first(name); i >= 0; i = this.next[i] as number) at.push(i);
    for (let k = at.length - 1; k >= 0; k--) this.removeAt(at[k] as number);
    this.index = null;
  }

  entries(): Array<[string, string]> {
    return this.names.map((n, i) => [n, this.values[i] as string]);
  }

  /** Visit every (name as written, value) in order without allocating. */
  forEach(fn: (name: string, value: string) => void): void {
    for (let i = 0; i < this.names.length; i++) fn(this.names[i] as string, this.values[i] as string);
  }

  count(): number {
    return this.names.length;
  }

  clone(): Headers {
    return Headers.adopt(this.names.slice(), this.values.slice());
  }

  private removeAt(i: number): void {
    this.names.splice(i, 1);
    this.values.splice(i, 1);
  }

  private first(name: string): number {
    return (this.index ?? this.buildIndex()).get(canonicalName(name)) ?? -1;
  }

  private buildIndex(): Map<string, number> {
    const index = new Map<string, number>();
    const n = this.names.length;
    const next = new Array<number>(n);
    // Backwards, so each key ends up mapped to its first position and chained forwards.
    for (let i = n - 1; i >= 0; i--) {
      const key = canonicalName(this.names[i] as string);
      next[i] = index.get(key) ?? -1;
      index.set(key, i);
    }
    this.next = next;
    this.index = index;
    return index;
  }
}
