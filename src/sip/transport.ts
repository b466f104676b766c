/**
 * One interface for every SIP transport (UDP and TCP now; TLS and WebSocket can join later).
 * A transport delivers whole raw messages (datagrams, or Content-Length-framed stream messages)
 * with the peer they came from, and sends raw bytes to a peer.
 */
export type TransportKind = 'udp' | 'tcp';

export interface Peer {
  transport: TransportKind;
  host: string;
  port: number;
  /** The TCP connection the message arrived on (null for UDP). */
  connectionId: string | null;
}

export interface Destination {
  host: string;
  port: number;
  /** Prefer this TCP connection while it is open. */
  connectionId?: string | null;
}

export interface TransportEvents {
  /** A whole raw message; `datagram` tells the parser that a missing Content-Length means "the rest". */
  message(raw: Buffer, peer: Peer): void;
  /**
   * A peer sent something that can't be framed (over max_message_size, no Content-Length on TCP).
   * `partial` holds the offending message from its start; `phrase` names the problem ("Bad Content-Length").
   */
  framingError(peer: Peer, reason: 'too-large' | 'bad-framing', partial: Buffer, phrase?: string): void;
}

export interface Transport {
  readonly kind: TransportKind;
  /** Bound address, known after start() (port 0 in the config picks a free one). */
  readonly local: { host: string; port: number };
  start(events: TransportEvents): Promise<void>;
  /** Send bytes. Over TCP: the given connection if still open, else one to host:port, else a new one. */
  send(data: Buffer, to: Destination): Promise<void>;
  /** True while a TCP connection with that id is open. */
  isOpen(connectionId: string): boolean;
  stop(): Promise<void>;
}

/** `[::1]` for IPv6 hosts, as written in Via and URIs (RFC 3261 §25.1 IPv6reference). */
export function hostForUri(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The address a socket API wants: IPv6 without brackets. */
export function hostForSocket(host: string): string {
  return host.startsWith('[') ? host.slice(1, -1) : host;
}
