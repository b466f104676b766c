/**
 * TCP (stream) framing, RFC 3261 §18.3: "In the case of stream-oriented transports such as TCP,
 * the Content-Length header field indicates the size of the body. All stream-oriented transports
 * MUST use Content-Length to indicate the size of the body."
 *
 * push() returns every complete raw message (a fresh copy) and keeps the incomplete tail. CRLFs
 * between messages are skipped (RFC 3261 §7.5; RFC 5626 §4.4.1 double-CRLF keep-alive "pings",
 * reported through onPing so the transport can answer the single-CRLF "pong"). After a throw the
 * stream cannot be resynchronised: close the connection.
 */
import { SipParseError } from './headers';

const LF = 10;
const CR = 13;
// RFC 3261 §20.14 / §7.3.3: Content-Length, compact form "l".
const CONTENT_LENGTH_RE = /^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?$/gim;

export class StreamFramer {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;
  /** Where to resume looking for the end of the header section (relative to start). */
  private scanned = 0;
  /** Total length of the current message once its header section is complete, else -1. */
  private expected = -1;
  /** LFs skipped between messages: every second one completes a CRLF CRLF ping. */
  private skippedLf = 0;

  constructor(
    private readonly maxMessageSize: number,
    private readonly onPing?: () => void,
  ) {}

  /** Bytes held for an incomplete message. */
  get buffered(): number {
    return this.end - this.start;
  }

  /** A copy of the bytes held for the incomplete message (after a throw: the offending message's
   *  beginning, from which a transport can salvage Via/Call-ID/CSeq for a 400 or 513). */
  pending(): Buffer {
    return Buffer.from(this.buf.subarray(this.start, this.end));
  }

  push(chunk: Buffer): Buffer[] {
    this.append(chunk);
    const out: Buffer[] = [];
    for (;;) {
      this.skipNewlines();
      if (this.start === this.end) break;
      if (this.expected < 0 && !this.readHead()) break;
      if (this.end - this.start < this.expected) break;
      out.push(Buffer.from(this.buf.subarray(this.start, this.start + this.expected)));
      this.start += this.expected;
      this.expected = -1;
      this.scanned = 0;
    }
    if (this.start === this.end) this.start = this.end = 0;
    return out;
  }

  private append(chunk: Buffer): void {
    if (this.end + chunk.length > this.buf.length) {
      const live = this.end - this.start;
      const need = live + chunk.length;
      if (need > this.buf.length) {
        const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2, 4096));
        this.buf.copy(grown, 0, this.start, this.end);
        this.buf = grown;
      } else {
        this.buf.copy(this.buf, 0, this.start, this.end);
      }
      this.start = 0;
      this.end = live;
    }
    chunk.copy(this.buf, this.end);
    this.end += chunk.length;
  }

  // RFC 3261 §7.5: "Implementations processing SIP messages over stream-oriented transports MUST
  // ignore any CRLF appearing before the start-line".
  private skipNewlines(): void {
    if (this.expected >= 0 || this.scanned > 0) return;
    while (this.start < this.end) {
      const c = this.buf[this.start];
      if (c !== CR && c !== LF) {
        this.skippedLf = 0;
        return;
      }
      this.start++;
      if (c === LF && ++this.skippedLf % 2 === 0) this.onPing?.();
    }
  }

  /** Finds the end of the header section and the declared body length; false if incomplete. */
  private readHead(): boolean {
    const headEnd = this.findEmptyLine();
    if (headEnd < 0) {
      if (this.end - this.start > this.maxMessageSize) throw new SipParseError('Message Too Large', { status: 513 });
      return false;
    }
    const head = this.buf.toString('latin1', this.start, this.start + headEnd);
    const bodyLength = declaredLength(head);
    const total = headEnd + bodyLength;
    // RFC 3261 §21.5.14: 513 Message Too Large
    if (total > this.maxMessageSize) throw new SipParseError('Message Too Large', { status: 513 });
    this.expected = total;
    return true;
  }

  /** Offset (from start) just past the empty line ending the header section, or -1. */
  private findEmptyLine(): number {
    const buf = this.buf;
    let i = this.start + Math.max(0, this.scanned - 2);
    for (;;) {
      const lf = buf.indexOf(LF, i);
      if (lf < 0 || lf >= this.end) break;
      const next = lf + 1;
      if (next < this.end && buf[next] === LF) return next + 1 - this.start;
      if (next + 1 < this.end && buf[next] === CR && buf[next + 1] === LF) return next + 2 - this.start;
      if (next >= this.end || (buf[next] === CR && next + 1 >= this.end)) break;
      i = next;
    }
    this.scanned = Math.max(0, this.end - this.start - 2);
    return -1;
  }
}

/** The Content-Length of a stream message; one value, decimal digits, no conflicting duplicates. */
function declaredLength(head: string): number {
  let value: string | null = null;
  for (const m of head.matchAll(CONTENT_LENGTH_RE)) {
    const v = m[1] as string;
    if (!/^\d{1,10}$/.test(v)) throw new SipParseError('Bad Content-Length');
    // Two different lengths would let a peer smuggle a message past a proxy that reads the other.
    if (value !== null && v !== value) throw new SipParseError('Bad Content-Length', { detail: 'conflicting' });
    value = v;
  }
  if (value === null) throw new SipParseError('Missing Content-Length');
  return Number(value);
}
