/**
 * SIP over TCP (RFC 3261 §18.3): messages framed by Content-Length, bounded by max_message_size,
 * idle connections closed. A request to a peer that reached us over TCP goes back on that connection
 * (linphone advertises its ephemeral client port in Contact: nothing listens there).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Logger } from '../log';
import { StreamFramer } from './framer';
import { SipParseError } from './headers';
import { hostForSocket, type Destination, type Peer, type Transport, type TransportEvents } from './transport';

/** After a broken frame, how long a peer that keeps sending is given to read the 513/400 before the cut. */
const BROKEN_STREAM_GRACE_MS = 2000;

interface Connection {
  id: string;
  socket: Socket;
  peer: Peer;
}

export class TcpTransport implements Transport {
  readonly kind = 'tcp' as const;
  private server: Server | null = null;
  private readonly byId = new Map<string, Connection>();
  private readonly byAddress = new Map<string, Connection>();
  private events: TransportEvents | null = null;
  private seq = 0;
  local = { host: '', port: 0 };

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly maxMessageSize: number,
    private readonly idleTimeoutMs: number,
    private readonly log: Logger,
  ) {}

  async start(events: TransportEvents): Promise<void> {
    this.events = events;
    const server = createServer((socket) => this.adopt(socket));
    this.server = server;
    server.on('error', (err) => this.log.error({ err }, 'tcp server error'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address();
    if (a && typeof a === 'object') this.local = { host: a.address, port: a.port };
  }

  private adopt(socket: Socket): Connection {
    const id = `tcp-${process.pid}-${++this.seq}`;
    const peer: Peer = { transport: 'tcp', host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, connectionId: id };
    const conn: Connection = { id, socket, peer };
    this.byId.set(id, conn);
    this.byAddress.set(addressKey(peer.host, peer.port), conn);
    const framer = new StreamFramer(this.maxMessageSize);
    socket.setNoDelay(true);
    socket.setTimeout(this.idleTimeoutMs, () => socket.destroy());
    let broken = false;
    socket.on('data', (chunk) => {
      // After a framing error the stream cannot be re-synchronised: what follows is dropped unread, so a
      // 10 MB body costs at most max_message_size of memory and one 513 (issue 10, hostile input).
      if (broken) return;
      let messages: Buffer[];
      try {
        messages = framer.push(chunk);
      } catch (err) {
        broken = true;
        const reason = /large/i.test((err as Error).message) ? 'too-large' : 'bad-framing';
        // The whole held message, not just this chunk: its start line and Via may have come earlier.
        const phrase = err instanceof SipParseError ? err.reason : undefined;
        this.events?.framingError(peer, reason, framer.pending(), phrase);
        socket.end();
        // A peer that keeps sending is cut after a grace period that lets the answer reach it.
        const cut = setTimeout(() => socket.destroy(), BROKEN_STREAM_GRACE_MS);
        cut.unref();
        socket.once('close', () => clearTimeout(cut));
        return;
      }
      for (const m of messages) this.events?.message(m, peer);
    });
    socket.on('error', (err) => this.log.debug({ err, peer: `${peer.host}:${peer.port}` }, 'tcp connection error'));
    socket.on('close', () => {
      this.byId.delete(id);
      const key = addressKey(peer.host, peer.port);
      if (this.byAddress.get(key) === conn) this.byAddress.delete(key);
    });
    return conn;
  }

  async send(data: Buffer, to: Destination): Promise<void> {
    const conn = (to.connectionId ? this.byId.get(to.connectionId) : undefined)
      ?? this.byAddress.get(addressKey(hostForSocket(to.host), to.port))
      ?? (await this.open(to));
    await new Promise<void>((resolve, reject) => {
      conn.socket.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  private open(to: Destination): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: hostForSocket(to.host), port: to.port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(this.adopt(socket));
      });
    });
  }

  isOpen(connectionId: string): boolean {
    const c = this.byId.get(connectionId);
    return !!c && !c.socket.destroyed;
  }

  async stop(): Promise<void> {
    for (const c of this.byId.values()) c.socket.destroy();
    this.byId.clear();
    this.byAddress.clear();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

function addressKey(host: string, port: number): string {
  return `${host}|${port}`;
}
