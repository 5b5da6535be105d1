import * as net from 'node:net';

/** A statement as the proxy sees it. `summary` holds leading keywords only (never literals, so never a password). */
export interface ProxiedStatement {
  phase: 'before' | 'after';
  /** Which client connection (numbered from 1 in accept order). */
  connection: number;
  summary: string;
}

/** `drop` closes both sides of the connection instead of passing the statement (before) or its answer (after) on. */
export type StatementHook = (s: ProxiedStatement) => Promise<'continue' | 'drop'>;

export interface StatementProxy {
  port: number;
  /** Hook called before each statement reaches the server and after the server has answered it. */
  setHook(hook: StatementHook | undefined): void;
  close(): Promise<void>;
}

export type WireProtocol = 'postgres' | 'mysql';

/**
 * A TCP proxy in front of a database that understands just enough of the
 * wire protocol (PostgreSQL v3 / MySQL client-server, plaintext) to stop the
 * conversation right before a statement reaches the server or right after
 * the server executed it and before the client hears so. That is where a
 * crash or a lost connection hurts most, so the crash-point matrix injects
 * its faults here, against the real server and the real driver.
 */
export async function startStatementProxy(protocol: WireProtocol, target: { host: string; port: number }): Promise<StatementProxy> {
  let hook: StatementHook | undefined;
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    // Small protocol messages one by one: without NO_DELAY, Nagle + delayed ACK add ~40 ms stalls.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', closeBoth);
    const conv = protocol === 'postgres' ? new PostgresConversation(++connections) : new MysqlConversation(++connections);
    pump(client, upstream, (buf) => conv.fromClient(buf), () => hook, closeBoth);
    pump(upstream, client, (buf) => conv.fromServer(buf), () => hook, closeBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    setHook(h) {
      hook = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A unit the proxy forwards whole: the bytes, and the statement point just before or after it, if any. */
interface Frame {
  bytes: Buffer;
  /** Call the hook before forwarding these bytes. */
  point?: ProxiedStatement;
}

/** Reads from one side, splits into frames, runs hooks one frame at a time (the source is paused meanwhile). */
function pump(from: net.Socket, to: net.Socket, split: (b: Buffer) => Frame[], hook: () => StatementHook | undefined, closeBoth: () => void): void {
  let chain = Promise.resolve();
  from.on('data', (chunk: Buffer) => {
    const frames = split(chunk);
    from.pause();
    chain = chain.then(async () => {
      for (const f of frames) {
        if (f.point) {
          const h = hook();
          if (h && (await h(f.point)) === 'drop') {
            closeBoth();
            return;
          }
        }
        if (to.destroyed) return;
        to.write(f.bytes);
      }
      if (!from.destroyed) from.resume();
    });
  });
}

/** Leading SQL keywords (letters only), at most three: `ALTER ROLE`, `SET PASSWORD FOR`, `SELECT`. */
export function keywordSummary(sql: string): string {
  const words: string[] = [];
  for (const w of sql.trim().split(/\s+/)) {
    if (!/^[A-Za-z_]+$/.test(w) || words.length === 3) break;
    words.push(w.toUpperCase());
  }
  return words.join(' ') || '(statement)';
}

/** Accumulates bytes and cuts whole messages with `lengthOf` (undefined: need more bytes). */
class MessageSplitter {
  private buf = Buffer.alloc(0);
  constructor(private readonly lengthOf: (b: Buffer) => number | undefined) {}
  push(chunk: Buffer): Buffer[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      const n = this.lengthOf(this.buf);
      if (n === undefined || this.buf.length < n) break;
      out.push(this.buf.subarray(0, n));
      this.buf = this.buf.subarray(n);
    }
    return out;
  }
}

/**
 * PostgreSQL v3 (https://www.postgresql.org/docs/15/protocol-message-formats.html):
 * the client's first message has no type byte; then type + int32 length.
 * A statement starts at Query ('Q') or Parse ('P'); it has run when the
 * server sends ReadyForQuery ('Z').
 */
class PostgresConversation {
  constructor(private readonly connection: number) {}
  private started = false;
  private awaitingAnswer: string | undefined;
  private readonly client = new MessageSplitter((b) => {
    if (!this.started) return b.length >= 4 ? b.readInt32BE(0) : undefined;
    return b.length >= 5 ? 1 + b.readInt32BE(1) : undefined;
  });
  private readonly server = new MessageSplitter((b) => (b.length >= 5 ? 1 + b.readInt32BE(1) : undefined));

  fromClient(chunk: Buffer): Frame[] {
    return this.client.push(chunk).map((m) => {
      if (!this.started) {
        this.started = true;
        return { bytes: m };
      }
      const type = String.fromCharCode(m[0]);
      if (type === 'Q' || type === 'P') {
        const body = m.subarray(5);
        // Parse: statement name (cstring), then the query (cstring).
        const sql = type === 'Q' ? cstring(body, 0) : cstring(body, body.indexOf(0) + 1);
        const summary = keywordSummary(sql);
        this.awaitingAnswer = summary;
        return { bytes: m, point: { phase: 'before', summary, connection: this.connection } };
      }
      return { bytes: m };
    });
  }

  fromServer(chunk: Buffer): Frame[] {
    return this.server.push(chunk).map((m) => {
      if (m[0] === 0x5a /* Z */ && this.awaitingAnswer !== undefined) {
        const summary = this.awaitingAnswer;
        this.awaitingAnswer = undefined;
        return { bytes: m, point: { phase: 'after', summary, connection: this.connection } };
      }
      return { bytes: m };
    });
  }
}

/**
 * MySQL/MariaDB (https://dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html):
 * packets of 3-byte length + sequence id. A command is a client packet with
 * sequence id 0; COM_QUERY (0x03) and COM_STMT_EXECUTE (0x17) run a
 * statement, and the server's first packet after it means it has run.
 */
class MysqlConversation {
  constructor(private readonly connection: number) {}
  private awaitingAnswer: string | undefined;
  private readonly client = new MessageSplitter(packetLength);
  private readonly server = new MessageSplitter(packetLength);

  fromClient(chunk: Buffer): Frame[] {
    return this.client.push(chunk).map((p) => {
      const seq = p[3];
      const command = p[4];
      if (seq === 0 && (command === 0x03 || command === 0x17)) {
        const summary = command === 0x03 ? keywordSummary(p.subarray(5).toString('utf8')) : 'EXECUTE';
        this.awaitingAnswer = summary;
        return { bytes: p, point: { phase: 'before', summary, connection: this.connection } };
      }
      return { bytes: p };
    });
  }

  fromServer(chunk: Buffer): Frame[] {
    return this.server.push(chunk).map((p) => {
      if (this.awaitingAnswer !== undefined) {
        const summary = this.awaitingAnswer;
        this.awaitingAnswer = undefined;
        return { bytes: p, point: { phase: 'after', summary, connection: this.connection } };
      }
      return { bytes: p };
    });
  }
}

function packetLength(b: Buffer): number | undefined {
  return b.length >= 4 ? 4 + b.readUIntLE(0, 3) : undefined;
}

function cstring(b: Buffer, at: number): string {
  const end = b.indexOf(0, at);
  return b.subarray(at, end < 0 ? b.length : end).toString('utf8');
}
