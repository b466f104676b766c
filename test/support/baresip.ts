/**
 * Real baresip softphones (Debian baresip-core 1.0) for end-to-end tests: each instance gets a temp
 * config directory (`-f dir`) with its account and contacts, listens on 127.0.0.1 only, prints its
 * SIP trace (`-s`), and is driven over its ctrl_tcp module (JSON in netstrings) rather than stdin,
 * whose stdio module needs a terminal. Commands used: /presence_online, /presence_offline (presence
 * module), /contacts (contact module: each contact's presence status), /quit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BARESIP_BIN = '/usr/bin/baresip';
const MODULES = '/usr/lib/baresip/modules';

export function baresipAvailable(): boolean {
  return existsSync(BARESIP_BIN) && existsSync(join(MODULES, 'ctrl_tcp.so')) && existsSync(join(MODULES, 'presence.so'));
}

export interface BaresipOptions {
  /** A label for errors and the temp dir. */
  name: string;
  /** One accounts line, e.g. `<sip:alice@127.0.0.1:5060>;regint=60;pubint=60`. */
  account: string;
  /** Lines of the contacts file, e.g. `"alice" <sip:alice@127.0.0.1:5060>;presence=p2p`. */
  contacts?: string[];
}

/** A free TCP port on 127.0.0.1 (bound then released; the caller retries on a lost race). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = a && typeof a === 'object' ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Strip ANSI colour codes from baresip's console text. */
export function plain(s: string): string {
  return s.replace(/\u001b\[[0-9;]*m/g, '');
}

export class Baresip {
  output = '';
  private exited: Promise<number | null>;
  private exitCode: number | null | undefined = undefined;

  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly ctrlPort: number,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString('utf8')));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString('utf8')));
    this.exited = new Promise((resolve) => child.once('exit', (code) => {
      this.exitCode = code;
      resolve(code);
    }));
  }

  /** Start baresip and wait until its ctrl_tcp socket answers (a few attempts on port races). */
  static async start(o: BaresipOptions): Promise<Baresip> {
    let lastErr: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const b = await Baresip.spawnOnce(o, await freePort());
      try {
        await b.waitReady();
        return b;
      } catch (err) {
        lastErr = err;
        await b.stop();
      }
    }
    throw new Error(`baresip ${o.name} did not start: ${String(lastErr)}`);
  }

  private static async spawnOnce(o: BaresipOptions, ctrlPort: number): Promise<Baresip> {
    const dir = mkdtempSync(join(tmpdir(), `herald-baresip-${o.name}-`));
    writeFileSync(join(dir, 'config'), [
      'poll_method\t\tepoll',
      // Loopback only; port 0: any free port (baresip also binds TLS beside it).
      'sip_listen\t\t127.0.0.1:0',
      `module_path\t\t${MODULES}`,
      'module_tmp\t\taccount.so',
      'module_app\t\tcontact.so',
      'module_app\t\tmenu.so',
      'module_app\t\tpresence.so',
      'module_app\t\tctrl_tcp.so',
      `ctrl_tcp_listen\t\t127.0.0.1:${ctrlPort}`,
      // No sound card: nothing here makes calls.
      'audio_player\t\taufile,/dev/null',
      'audio_source\t\taufile,/dev/null',
      '',
    ].join('\n'));
    writeFileSync(join(dir, 'accounts'), `${o.account}\n`);
    writeFileSync(join(dir, 'contacts'), `${(o.contacts ?? []).join('\n')}\n`);
    // stdin a pipe kept open (an EOF or /dev/null would upset baresip's main loop); -s: SIP trace on stdout.
    const child = spawn(BARESIP_BIN, ['-f', dir, '-s'], { stdio: ['pipe', 'pipe', 'pipe'] });
    return new Baresip(o.name, dir, ctrlPort, child);
  }

  private async waitReady(timeoutMs = 15_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (this.exitCode !== undefined) throw new Error(`exited (${String(this.exitCode)}): ${plain(this.output).slice(-2000)}`);
      try {
        await this.command('help', '', 2000);
        return;
      } catch {
        if (Date.now() > end) throw new Error(`ctrl_tcp on ${this.ctrlPort} never answered: ${plain(this.output).slice(-2000)}`);
        await sleep(200);
      }
    }
  }

  /** Run a command through ctrl_tcp (`{"command","params","token"}` netstring); resolves with its text. */
  command(command: string, params = '', timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const token = `t${Math.random().toString(36).slice(2)}`;
      const s = connect({ host: '127.0.0.1', port: this.ctrlPort });
      let buf = '';
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error(`ctrl_tcp ${command}: no response`));
      }, timeoutMs);
      s.on('connect', () => {
        const j = JSON.stringify({ command, params, token });
        s.write(`${Buffer.byteLength(j)}:${j},`);
      });
      s.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        // Netstrings: LEN ":" JSON ","; events ({"event":true}) may come first.
        for (;;) {
          const m = /^(\d+):/.exec(buf);
          if (!m) return;
          const len = Number(m[1]);
          const start = m[0].length;
          if (Buffer.byteLength(buf.slice(start)) < len + 1) return;
          const body = Buffer.from(buf.slice(start)).subarray(0, len).toString('utf8');
          buf = Buffer.from(buf.slice(start)).subarray(len + 1).toString('utf8');
          let msg: { response?: boolean; ok?: boolean; data?: string; token?: string };
          try {
            msg = JSON.parse(body) as typeof msg;
          } catch {
            continue;
          }
          if (msg.response && msg.token === token) {
            clearTimeout(t);
            s.destroy();
            if (msg.ok === false) reject(new Error(`ctrl_tcp ${command} failed: ${msg.data ?? ''}`));
            else resolve(msg.data ?? '');
            return;
          }
        }
      });
      s.on('error', (err) => {
        clearTimeout(t);
        reject(err);
      });
    });
  }

  /** The presence status baresip shows for a contact (`Online`, `Offline`, `Unknown`, `Busy`...). */
  async contactStatus(uri: string): Promise<string | undefined> {
    const text = plain(await this.command('contacts'));
    for (const line of text.split('\n')) {
      if (!line.includes(`<${uri}>`)) continue;
      return /^[>\s]*(\S+)\s/.exec(line)?.[1];
    }
    return undefined;
  }

  /** SIP requests of `method` in this instance's trace (as received or sent), raw text. */
  traced(method: string): string[] {
    return plain(this.output).split(/\n#\n/).filter((m) => new RegExp(`^(UDP|TCP) [^\\n]*\\n${method} `).test(m));
  }

  /** Responses this instance sent for `method` requests, raw text. */
  tracedResponses(method: string): string[] {
    return plain(this.output).split(/\n#\n/).filter((m) => /^(UDP|TCP) [^\n]*\nSIP\/2\.0 /.test(m) && new RegExp(`\\nCSeq: \\d+ ${method}`).test(m));
  }

  /** The SIP messages of the trace: transport line, start line, header lookup (first value, case-insensitive). */
  messages(): Array<{ route: string; start: string; header: (name: string) => string | undefined; text: string }> {
    return plain(this.output).split(/\n#\n/).filter((m) => /^(UDP|TCP) /.test(m)).map((text) => {
      const lines = text.split('\n');
      const header = (name: string): string | undefined => {
        const re = new RegExp(`^${name}:\\s*(.*)$`, 'i');
        for (const l of lines.slice(2)) {
          if (l.trim() === '') break;
          const m = re.exec(l.trim());
          if (m) return m[1];
        }
        return undefined;
      };
      return { route: lines[0] ?? '', start: (lines[1] ?? '').trim(), header, text };
    });
  }

  /** One line per traced SIP message: direction, start line and the headers that tell a presence story. */
  summary(): string {
    return plain(this.output).split(/\n#\n/).map((m) => {
      const lines = m.split('\n');
      const pick = (re: RegExp): string => lines.find((l) => re.test(l))?.trim() ?? '';
      const basic = /<basic>(\w+)<\/basic>/.exec(m)?.[1];
      return [lines[0], lines[1], pick(/^CSeq:/i), pick(/^Expires:/i), pick(/^SIP-If-Match:/i), pick(/^SIP-ETag:/i), pick(/^Subscription-State:/i), basic ? `basic=${basic}` : '']
        .filter(Boolean).join(' | ');
    }).filter((l) => /^(UDP|TCP) /.test(l)).join('\n');
  }

  /** Ask baresip to quit (it un-SUBSCRIBEs, un-PUBLISHes and un-REGISTERs), kill it if it lingers, remove its dir. */
  async stop(timeoutMs = 8000): Promise<void> {
    if (this.exitCode === undefined) {
      await this.command('quit', '', 2000).catch(() => undefined);
      const done = await Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
      if (!done) {
        this.child.kill('SIGKILL');
        await this.exited;
      }
    }
    this.child.stdin?.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
