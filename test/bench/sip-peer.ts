/**
 * A lean UDP SIP peer for the load scripts (soak, outage): requests with RFC 3261 retransmissions
 * (0.5, 1, 2, 4 s; no answer within 8 s is status 0), NOTIFYs answered 200 and counted, nothing kept
 * (a peer that remembers every message would be the leak the soak finds). Only 127.0.0.1.
 */
import { createSocket } from 'node:dgram';

export interface Answer { status: number; headers: Map<string, string> }

/** A lean UDP SIP peer: requests with retransmission, NOTIFYs answered 200, nothing kept. */
export class Peer {
  private readonly sock = createSocket('udp4');
  private readonly waiting = new Map<string, (a: Answer) => void>();
  private n = 0;
  port = 0;
  notifies = 0;
  constructor(private readonly target: number, private readonly timeoutMs = 8000) {}

  async open(): Promise<void> {
    this.sock.on('message', (b) => this.onMessage(b.toString('latin1')));
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', () => r()));
    this.port = this.sock.address().port;
  }

  close(): void {
    this.sock.close();
  }

  private onMessage(text: string): void {
    const [head = ''] = text.split('\r\n\r\n');
    const lines = head.split('\r\n');
    const headers = new Map<string, string>();
    const vias: string[] = [];
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      const k = l.slice(0, i).trim().toLowerCase();
      const v = l.slice(i + 1).trim();
      if (k === 'via' || k === 'v') vias.push(v);
      if (!headers.has(k)) headers.set(k, v);
    }
    const start = lines[0] ?? '';
    if (start.startsWith('SIP/2.0 ')) {
      const status = Number(start.slice(8, 11));
      const branch = /branch=([^;\s]+)/.exec(vias[0] ?? '')?.[1] ?? '';
      if (status >= 200) this.waiting.get(branch)?.({ status, headers });
      return;
    }
    if (start.startsWith('NOTIFY')) this.notifies++;
    if (start.startsWith('ACK')) return;
    const out = [`SIP/2.0 200 OK`, ...vias.map((v) => `Via: ${v}`), `From: ${headers.get('from') ?? ''}`, `To: ${headers.get('to') ?? ''}`,
      `Call-ID: ${headers.get('call-id') ?? ''}`, `CSeq: ${headers.get('cseq') ?? ''}`, 'Content-Length: 0', '', ''].join('\r\n');
    const m = /SIP\/2\.0\/UDP\s+([\d.]+):(\d+)/i.exec(vias[0] ?? '');
    if (m?.[1] === '127.0.0.1') this.sock.send(out, Number(m[2]), '127.0.0.1');
  }

  request(method: string, uri: string, headers: string[], body = ''): Promise<Answer> {
    const branch = `z9hG4bKsoak${process.pid}x${++this.n}`;
    const msg = Buffer.from([`${method} ${uri} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${this.port};branch=${branch};rport`, 'Max-Forwards: 70', ...headers,
      `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n'), 'latin1');
    return new Promise((resolveAnswer) => {
      const timers: NodeJS.Timeout[] = [];
      const done = (a: Answer): void => {
        for (const t of timers) clearTimeout(t);
        this.waiting.delete(branch);
        resolveAnswer(a);
      };
      this.waiting.set(branch, done);
      const send = (): void => this.sock.send(msg, this.target, '127.0.0.1');
      send();
      for (const at of [500, 1500, 3500, 7500, 11_500, 15_500, 19_500].filter((x) => x < this.timeoutMs)) timers.push(setTimeout(send, at));
      timers.push(setTimeout(() => done({ status: 0, headers: new Map() }), this.timeoutMs));
    });
  }
}

export const pidf = (aor: string, basic: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${aor}"><tuple id="t1"><status><basic>${basic}</basic></status><note>soak</note></tuple></presence>`;

