/**
 * Safety fence for fuzzing over the wire: mutated Via/Contact values can name any host or port.
 * Herald's transports are wrapped so that it only ever sends to the allowed ports on 127.0.0.1 (or
 * on a TCP connection a test opened); anything else is dropped and counted, as if the network lost it.
 */
import type { Destination, Transport } from '../../src/sip/transport';
import type { RunningHerald } from './herald';

export function fence(h: RunningHerald, allowed: Set<number>): { dropped: number } {
  const stats = { dropped: 0 };
  for (const kind of ['udp', 'tcp'] as const) {
    const t = h.app.endpoint.transport(kind) as Transport;
    const send = t.send.bind(t);
    t.send = (data: Buffer, to: Destination): Promise<void> => {
      const onConnection = kind === 'tcp' && !!to.connectionId && t.isOpen(to.connectionId);
      if (onConnection || (to.host === '127.0.0.1' && allowed.has(to.port))) return send(data, to);
      stats.dropped++;
      return Promise.resolve();
    };
  }
  return stats;
}
