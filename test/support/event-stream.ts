/**
 * Test clients of Herald's HTTP-watcher deliveries, over real loopback HTTP: an SSE / ndjson
 * stream reader (node:http, so the stream can be cut off and resumed) and a webhook receiver
 * (a local HTTP server on 127.0.0.1 answering with a programmed sequence of statuses).
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SseEvent {
  id: string | null;
  event: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read fields of the event
  data: any;
}

export class StreamReader {
  readonly events: SseEvent[] = [];
  readonly lines: unknown[] = [];
  heartbeats = 0;
  status = 0;
  headers: IncomingHttpHeaders = {};
  ended = false;
  private buf = '';
  private res: IncomingMessage | null = null;
  private waiters: Array<() => void> = [];

  private constructor(private readonly format: 'sse' | 'ndjson') {}

  static open(base: { host: string; port: number }, path: string, token: string, o: { ndjson?: boolean; lastEventId?: string } = {}): Promise<StreamReader> {
    const r = new StreamReader(o.ndjson ? 'ndjson' : 'sse');
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: o.ndjson ? 'application/x-ndjson' : 'text/event-stream' };
    if (o.lastEventId !== undefined) headers['last-event-id'] = o.lastEventId;
    return new Promise((resolve, reject) => {
      const req = request({ host: base.host, port: base.port, path, headers }, (res) => {
        r.res = res;
        r.status = res.statusCode ?? 0;
        r.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => r.feed(chunk));
        res.on('end', () => { r.ended = true; r.wake(); });
        res.on('error', () => { r.ended = true; r.wake(); });
        resolve(r);
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** Resolves when `pred` holds (checked on every chunk), rejects after `ms`. */
  async until(pred: (r: StreamReader) => boolean, ms = 8000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`stream: condition not met in ${ms} ms (events: ${JSON.stringify(this.events.map((e) => e.data))}, lines: ${JSON.stringify(this.lines)})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  close(): void {
    this.res?.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private feed(chunk: string): void {
    this.buf += chunk;
    if (this.format === 'ndjson') {
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (line.trim() === '') this.heartbeats++;
        else this.lines.push(JSON.parse(line));
      }
    } else {
      let i: number;
      while ((i = this.buf.indexOf('\n\n')) >= 0) {
        const block = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        this.block(block);
      }
    }
    this.wake();
  }

  private block(block: string): void {
    let id: string | null = null;
    let event = 'message';
    const data: string[] = [];
    let comment = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comment = true;
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) this.events.push({ id, event, data: JSON.parse(data.join('\n')) });
    else if (comment) this.heartbeats++;
  }
}

export interface ReceivedHook {
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
}

/** A webhook receiver on 127.0.0.1: answers with `statuses` in turn (then 200), records every POST. */
export class WebhookReceiver {
  readonly received: ReceivedHook[] = [];
  statuses: number[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<WebhookReceiver> {
    const server = createServer();
    const r = new WebhookReceiver(server);
    server.on('request', (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => { body += c; });
      req.on('end', () => {
        const status = r.statuses.shift() ?? 200;
        r.received.push({ headers: req.headers, body, answered: status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The bodies answered 2xx, parsed. */
  accepted(): unknown[] {
    return this.received.filter((h) => h.answered >= 200 && h.answered < 300).map((h) => JSON.parse(h.body));
  }

  async until(pred: (r: WebhookReceiver) => boolean, ms = 8000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this)) {
      if (Date.now() > deadline) throw new Error(`webhook: condition not met in ${ms} ms (got ${JSON.stringify(this.received.map((h) => [h.answered, h.body]))})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
