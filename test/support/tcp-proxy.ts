/**
 * A TCP proxy on 127.0.0.1 that a test can cut and restore: a database outage without stopping
 * the machine's PostgreSQL. cut() closes every connection and refuses new ones; restore() accepts again.
 * cutAfterNextCommit() cuts right after the server's answer to the next COMMIT has been passed on:
 * the change is committed and acknowledged, and whatever the client asks next fails (the window in
 * which a committed change's NOTIFYs would be lost).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private cutArmed: (() => void) | null = null;
  port = 0;

  constructor(private readonly targetHost: string, private readonly targetPort: number) {}

  async start(port = 0): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect({ host: this.targetHost, port: this.targetPort });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        client.write(chunk);
        // PostgreSQL's CommandComplete for a COMMIT carries the tag "COMMIT\0".
        if (this.cutArmed && chunk.includes('COMMIT\0')) {
          const done = this.cutArmed;
          this.cutArmed = null;
          this.sockets.delete(client);
          client.end(); // the COMMIT's answer is delivered, then the connection ends
          setTimeout(() => client.destroy(), 100).unref();
          void this.cut().then(done);
        }
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address();
    this.port = a && typeof a === 'object' ? a.port : 0;
  }

  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  /** Resolves once the cut after the next COMMIT has happened. */
  cutAfterNextCommit(): Promise<void> {
    return new Promise((resolve) => {
      this.cutArmed = resolve;
    });
  }

  /** Accept connections again (a no-op while the proxy is up). */
  async restore(): Promise<void> {
    if (!this.server) await this.start(this.port);
  }
}
