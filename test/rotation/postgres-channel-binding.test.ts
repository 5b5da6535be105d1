import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import type { DatabaseSecret } from '../../lambda/core/database-secret';
import { PostgresEngine } from '../../lambda/rotation/engines/postgres';
import type { ConnectionSettings } from '../../lambda/rotation/engines/engine';
import { makeThrowawayTls, type ThrowawayTls } from '../../local/throwaway-server';
import { startPostgres, type PgServer } from '../support/postgres-server';
import { rotationFailure } from '../support/rotation-error';

/**
 * With TLS on but below verify-full (`require`), the engine binds SCRAM to the TLS channel
 * (SCRAM-SHA-256-PLUS, tls-server-end-point): a relay on the route that terminates TLS with a
 * certificate of its own and passes the login on to the real server gets no session (threat
 * model, "Network attacker"). Proven with a real PostgreSQL server behind a TLS relay.
 */
const engine = new PostgresEngine();
let pg: PgServer;
let relayCerts: ThrowawayTls;
let tmp: string;
const user = 'cb_app';
const password = randomBytes(12).toString('hex');

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rotor-channel-binding-'));
  relayCerts = await makeThrowawayTls(tmp, ['DNS:localhost', 'IP:127.0.0.1'], null);
  pg = await startPostgres({ tls: true });
  await pg.query(`SET password_encryption = 'scram-sha-256'; CREATE ROLE ${user} LOGIN PASSWORD '${password}'`);
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const settings = (tlsMode: ConnectionSettings['tlsMode'], caFile?: string): ConnectionSettings => ({ tlsMode, caFile, connectTimeoutMs: 5000, statementTimeoutMs: 5000 });
const secretFor = (port: number): DatabaseSecret =>
  ({ engine: 'postgres', host: 'localhost', port, username: user, password, dbname: pg.database }) as DatabaseSecret;

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * A relay that answers the client's SSLRequest with its own certificate and passes everything on
 * to the real server: over TLS (`upstreamTls`) or plain TCP. `hidePlus` rewrites the server's
 * AuthenticationSASL to offer SCRAM-SHA-256 only. `sessions` counts AuthenticationOk messages passed
 * to the client (a live session).
 */
async function startRelay(opts: { upstreamTls: boolean; hidePlus: boolean }): Promise<{ port: number; sessions: () => number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let sessions = 0;
  const server = net.createServer((raw) => {
    sockets.add(raw);
    raw.on('error', () => undefined);
    raw.once('data', async (first) => {
      if (!first.subarray(0, 8).equals(SSL_REQUEST)) return raw.destroy();
      let up: net.Socket = net.connect(pg.port, '127.0.0.1');
      sockets.add(up);
      up.on('error', () => raw.destroy());
      await new Promise<void>((r) => up.once('connect', () => r()));
      if (opts.upstreamTls) {
        up.write(SSL_REQUEST);
        const answer = await new Promise<Buffer>((r) => up.once('data', r));
        if (answer.toString() !== 'S') return raw.destroy();
        const t = tls.connect({ socket: up, rejectUnauthorized: false });
        t.on('error', () => raw.destroy());
        await new Promise<void>((r) => t.once('secureConnect', () => r()));
        up = t;
      }
      raw.write('S');
      const client = new tls.TLSSocket(raw, { isServer: true, key: fs.readFileSync(relayCerts.keyFile), cert: fs.readFileSync(relayCerts.certFile) });
      client.on('error', () => up.destroy());
      client.on('data', (d) => up.write(d));
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
      let buf = Buffer.alloc(0);
      up.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        let out = Buffer.alloc(0);
        while (buf.length >= 5 && buf.length >= 1 + buf.readInt32BE(1)) {
          let msg = buf.subarray(0, 1 + buf.readInt32BE(1));
          buf = buf.subarray(msg.length);
          if (msg[0] === 0x52 && msg.readInt32BE(5) === 10 && opts.hidePlus) {
            msg = Buffer.concat([Buffer.from([0x52, 0, 0, 0, 0, 0, 0, 0, 10]), Buffer.from('SCRAM-SHA-256\0\0')]);
            msg.writeInt32BE(msg.length - 1, 1);
          }
          if (msg[0] === 0x52 && msg.readInt32BE(5) === 0) sessions++; // AuthenticationOk
          out = Buffer.concat([out, msg]);
        }
        if (out.length > 0) client.write(out);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    sessions: () => sessions,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

test('normal logins with channel binding: TLS modes require and verify-full (SCRAM-SHA-256-PLUS), and disable', async () => {
  for (const [mode, caFile] of [['require', undefined], ['verify-full', pg.caFile], ['disable', undefined]] as const) {
    const session = await engine.connect(secretFor(pg.port), settings(mode, caFile));
    try {
      expect([mode, await session.sessionUser()]).toEqual([mode, user]);
    } finally {
      await session.close();
    }
  }
});

test('require: a relay with its own certificate passing the login on to the server over TLS gets no session', async () => {
  const relay = await startRelay({ upstreamTls: true, hidePlus: false });
  try {
    const e = await rotationFailure(engine.connect(secretFor(relay.port), settings('require')));
    expect(e.category).toBe('authentication'); // the server: channel binding check failed
    expect(relay.sessions()).toBe(0);
  } finally {
    await relay.stop();
  }
});

test('require: the same relay hiding SCRAM-SHA-256-PLUS gets no session (the server sees the downgrade)', async () => {
  const relay = await startRelay({ upstreamTls: true, hidePlus: true });
  try {
    await rotationFailure(engine.connect(secretFor(relay.port), settings('require')));
    expect(relay.sessions()).toBe(0);
  } finally {
    await relay.stop();
  }
});

test('require: a server that offers SCRAM-SHA-256 only over TLS still logs in (residual: a relay reaching the server without TLS)', async () => {
  // What the client sees is a TLS server offering no -PLUS (e.g. a pooler without channel
  // binding): pg falls back to SCRAM-SHA-256. The same path is the documented residual: a relay
  // that reaches a server accepting non-TLS connections is not stopped below verify-full.
  const relay = await startRelay({ upstreamTls: false, hidePlus: true });
  try {
    const session = await engine.connect(secretFor(relay.port), settings('require'));
    try {
      expect(await session.sessionUser()).toBe(user);
    } finally {
      await session.close();
    }
    expect(relay.sessions()).toBe(1);
  } finally {
    await relay.stop();
  }
});
