import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Client } from 'pg';
import type { DatabaseSecret } from '../../lambda/core/database-secret';
import { PostgresEngine } from '../../lambda/rotation/engines/postgres';
import type { ConnectionSettings } from '../../lambda/rotation/engines/engine';
import { makeThrowawayTls, type ThrowawayTls } from '../../local/throwaway-server';
import { startPostgres, type PgServer } from '../support/postgres-server';
import { rotationFailure } from '../support/rotation-error';

/**
 * Below verify-full, a server on the route may be an impersonator: the PostgreSQL engine refuses
 * its request for a cleartext or MD5 password before sending anything of the password (threat
 * model, "Network attacker"). Proven twice: a fake server that records every byte the client sends
 * after its password request, and a real PostgreSQL server whose pg_hba.conf asks for `password`
 * and `md5`.
 */
const engine = new PostgresEngine();
let certs: ThrowawayTls;
let tmp: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rotor-weak-auth-'));
  certs = await makeThrowawayTls(tmp, ['DNS:localhost', 'IP:127.0.0.1'], null);
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const settings = (tlsMode: ConnectionSettings['tlsMode'], caFile?: string): ConnectionSettings => ({ tlsMode, caFile, connectTimeoutMs: 5000, statementTimeoutMs: 5000 });
const secretFor = (port: number, username: string, password: string, database = 'postgres'): DatabaseSecret =>
  ({ engine: 'postgres', host: 'localhost', port, username, password, dbname: database }) as DatabaseSecret;

interface FakeConnection {
  /** Message types the client sent after the password request ('p' = PasswordMessage, 'X' = Terminate). */
  types: string[];
  /** Every byte the client sent after the password request. */
  after: Buffer[];
  closed: Promise<void>;
}

/**
 * A fake PostgreSQL server that answers every StartupMessage with a cleartext or MD5 password request;
 * with `saslFirst`, it first asks for SCRAM-SHA-256 (AuthenticationSASL), waits for the
 * SASLInitialResponse, and then asks for the cleartext or MD5 password.
 */
async function startFakePostgres(kind: 'cleartext' | 'md5' | 'scram', saslFirst = kind === 'scram', iterations = 4096): Promise<{ port: number; connections: FakeConnection[]; salt: Buffer; stop(): Promise<void> }> {
  const connections: FakeConnection[] = [];
  const sockets = new Set<net.Socket>();
  const salt = randomBytes(4);
  const request = kind === 'cleartext'
    ? Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])
    : Buffer.concat([Buffer.from([0x52, 0, 0, 0, 12, 0, 0, 0, 5]), salt]);
  const mechanisms = Buffer.from('SCRAM-SHA-256\0\0');
  const saslRequest = Buffer.concat([Buffer.from([0x52, 0, 0, 0, 0, 0, 0, 0, 10]), mechanisms]);
  saslRequest.writeInt32BE(saslRequest.length - 1, 1);
  const fields = ['SFATAL', 'VFATAL', 'C28P01', 'Mpassword authentication failed'].map((f) => `${f}\0`).join('');
  const errorResponse = Buffer.concat([Buffer.from('E'), Buffer.alloc(4), Buffer.from(`${fields}\0`)]);
  errorResponse.writeInt32BE(errorResponse.length - 1, 1);

  const server = net.createServer((raw) => {
    sockets.add(raw);
    raw.on('error', () => undefined);
    let done!: () => void;
    const conn: FakeConnection = { types: [], after: [], closed: new Promise<void>((r) => { done = r; }) };
    connections.push(conn);
    raw.on('close', () => done());
    let sock: net.Socket = raw;
    let buf = Buffer.alloc(0);
    let asked = false;
    let saslAnswered = !saslFirst;
    const onData = (chunk: Buffer) => {
      if (asked) conn.after.push(Buffer.from(chunk));
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (!asked) {
          if (buf.length < 8 || buf.length < buf.readInt32BE(0)) return;
          const len = buf.readInt32BE(0);
          const code = buf.readInt32BE(4);
          buf = buf.subarray(len);
          if (code === 80877103) { // SSLRequest: go TLS with a certificate for localhost
            raw.removeListener('data', onData);
            raw.write('S');
            const t = new tls.TLSSocket(raw, { isServer: true, key: fs.readFileSync(certs.keyFile), cert: fs.readFileSync(certs.certFile) });
            t.on('error', () => undefined);
            t.on('data', onData);
            sock = t;
            return;
          }
          asked = true; // StartupMessage
          sock.write(saslFirst ? saslRequest : request);
          continue;
        }
        if (buf.length < 5 || buf.length < 1 + buf.readInt32BE(1)) return;
        const type = String.fromCharCode(buf[0]);
        const body = buf.subarray(5, 1 + buf.readInt32BE(1));
        buf = buf.subarray(1 + buf.readInt32BE(1));
        conn.types.push(type);
        if (type === 'p' && !saslAnswered && kind === 'scram') {
          saslAnswered = true; // the SASLInitialResponse: answer with a server-first-message
          const nonce = /r=([^,]+)/.exec(body.subarray(body.indexOf(0) + 5).toString())![1];
          const first = Buffer.from(`r=${nonce}${randomBytes(9).toString('base64')},s=${randomBytes(16).toString('base64')},i=${iterations}`);
          const cont = Buffer.concat([Buffer.from([0x52, 0, 0, 0, 0, 0, 0, 0, 11]), first]);
          cont.writeInt32BE(cont.length - 1, 1);
          sock.write(cont);
        } else if (type === 'p' && !saslAnswered) {
          saslAnswered = true; // the SASLInitialResponse: now ask for the weak password
          sock.write(request);
        } else if (type === 'p') {
          sock.end(errorResponse);
        }
      }
    };
    raw.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    salt,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('a fake server on the route asks for the password', () => {
  for (const kind of ['cleartext', 'md5'] as const) {
    for (const mode of ['require', 'disable'] as const) {
      test(`${kind} request, TLS mode ${mode}: refused [tls] before anything of the password is sent`, async () => {
        const fake = await startFakePostgres(kind);
        try {
          const password = randomBytes(12).toString('hex');
          const e = await rotationFailure(engine.connect(secretFor(fake.port, 'app', password), settings(mode)));
          expect([e.category, e.code]).toEqual(['tls', 'WeakAuthUnverifiedServer']);
          expect(e.message).toMatch(kind === 'md5' ? /asked for the password as an MD5 digest/ : /asked for the password in cleartext/);
          expect(e.action).toMatch(/verify-full/);
          expect(fake.connections).toHaveLength(1);
          await fake.connections[0].closed;
          expect(fake.connections[0].types).not.toContain('p');
          expect(Buffer.concat(fake.connections[0].after).includes(password)).toBe(false);
        } finally {
          await fake.stop();
        }
      });
    }
  }

  for (const kind of ['cleartext', 'md5'] as const) {
    for (const mode of ['require', 'disable'] as const) {
      test(`SCRAM asked first, then a ${kind} request, TLS mode ${mode}: refused [tls], no PasswordMessage after the SASLInitialResponse`, async () => {
        const fake = await startFakePostgres(kind, true);
        try {
          const password = randomBytes(12).toString('hex');
          const e = await rotationFailure(engine.connect(secretFor(fake.port, 'app', password), settings(mode)));
          expect([e.category, e.code]).toEqual(['tls', 'WeakAuthUnverifiedServer']);
          expect(e.message).toMatch(kind === 'md5' ? /asked for the password as an MD5 digest/ : /asked for the password in cleartext/);
          expect(fake.connections).toHaveLength(1);
          await fake.connections[0].closed;
          // One 'p' only: the SASLInitialResponse (mechanism and client nonce, nothing of the password).
          expect(fake.connections[0].types.filter((t) => t === 'p')).toEqual(['p']);
          const sent = Buffer.concat(fake.connections[0].after);
          expect(sent.includes('SCRAM-SHA-256')).toBe(true);
          expect(sent.includes(password)).toBe(false);
          const inner = createHash('md5').update(password + 'app').digest('hex');
          const digest = 'md5' + createHash('md5').update(Buffer.concat([Buffer.from(inner), fake.salt])).digest('hex');
          expect(sent.includes(digest)).toBe(false);
        } finally {
          await fake.stop();
        }
      });
    }
  }

  for (const mode of ['require', 'disable'] as const) {
    test(`SCRAM with 1 iteration, TLS mode ${mode}: refused [tls] before the client proof is sent`, async () => {
      const fake = await startFakePostgres('scram', true, 1);
      try {
        const e = await rotationFailure(engine.connect(secretFor(fake.port, 'app', randomBytes(12).toString('hex')), settings(mode)));
        expect([e.category, e.code]).toEqual(['tls', 'WeakScramUnverifiedServer']);
        expect(e.message).toMatch(/SCRAM with an iteration count of 1 /);
        await fake.connections[0].closed;
        expect(fake.connections[0].types.filter((t) => t === 'p')).toEqual(['p']); // the SASLInitialResponse only
      } finally {
        await fake.stop();
      }
    });
  }

  test('SCRAM with 4096 iterations (PostgreSQL\'s default), TLS mode require: the client proof is sent', async () => {
    const fake = await startFakePostgres('scram', true, 4096);
    try {
      const e = await rotationFailure(engine.connect(secretFor(fake.port, 'app', randomBytes(12).toString('hex')), settings('require')));
      expect(e.category).toBe('authentication'); // the fake refuses every proof
      await fake.connections[0].closed;
      expect(fake.connections[0].types.filter((t) => t === 'p')).toEqual(['p', 'p']);
    } finally {
      await fake.stop();
    }
  });

  test('cleartext request over verify-full (the server proved it is the database): the password is sent', async () => {
    const fake = await startFakePostgres('cleartext');
    try {
      const password = randomBytes(12).toString('hex');
      const e = await rotationFailure(engine.connect(secretFor(fake.port, 'app', password), settings('verify-full', certs.caFile)));
      expect(e.category).toBe('authentication'); // the fake refuses every password
      await fake.connections[0].closed;
      expect(fake.connections[0].types[0]).toBe('p');
      expect(Buffer.concat(fake.connections[0].after).includes(`${password}\0`)).toBe(true);
    } finally {
      await fake.stop();
    }
  });
});

describe('a real PostgreSQL server with pg_hba.conf methods password and md5', () => {
  let pg: PgServer;
  const users = { password: 'weak_clear', md5: 'weak_md5' } as const;
  const passwords: Record<string, string> = {};
  const authenticated = (user: string) => fs.readFileSync(pg.logFile, 'utf8').split('\n').filter((l) => l.includes(`connection authenticated: identity="${user}"`)).length;

  beforeAll(async () => {
    pg = await startPostgres({ tls: true, extraConfig: ['log_connections = on'] });
    passwords[users.password] = randomBytes(12).toString('hex');
    passwords[users.md5] = randomBytes(12).toString('hex');
    await pg.query(`CREATE ROLE ${users.password} LOGIN PASSWORD '${passwords[users.password]}'`);
    await pg.query(`SET password_encryption = 'md5'; CREATE ROLE ${users.md5} LOGIN PASSWORD '${passwords[users.md5]}'`);
    fs.writeFileSync(path.join(pg.dataDir, 'pg_hba.conf'), [
      `host all ${pg.superuser.username} 127.0.0.1/32 scram-sha-256`,
      `host all ${users.password} 127.0.0.1/32 password`,
      `host all ${users.md5} 127.0.0.1/32 md5`,
      '',
    ].join('\n'));
    await pg.query('SELECT pg_reload_conf()');
    // The postmaster reloads asynchronously: wait until a login is asked for the cleartext password.
    for (let i = 0; ; i++) {
      const c = new Client({ host: '127.0.0.1', port: pg.port, user: users.password, password: passwords[users.password], database: pg.database, ssl: { ca: fs.readFileSync(pg.caFile!, 'utf8') } });
      let cleartext = false;
      (c as unknown as { connection: NodeJS.EventEmitter }).connection.on('authenticationCleartextPassword', () => { cleartext = true; });
      await c.connect().then(() => c.end(), () => undefined);
      if (cleartext) break;
      if (i > 200) throw new Error('pg_hba.conf was not reloaded');
    }
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
  });

  for (const method of ['password', 'md5'] as const) {
    test(`method ${method}: refused [tls] with TLS modes require and disable, no login on the server; verify-full logs in`, async () => {
      const user = users[method];
      const secret = secretFor(pg.port, user, passwords[user], pg.database);
      const before = authenticated(user);
      for (const mode of ['require', 'disable'] as const) {
        const e = await rotationFailure(engine.connect(secret, settings(mode)));
        expect([mode, e.category, e.code]).toEqual([mode, 'tls', 'WeakAuthUnverifiedServer']);
      }
      expect(authenticated(user)).toBe(before);

      const session = await engine.connect(secret, settings('verify-full', pg.caFile));
      try {
        expect(await session.sessionUser()).toBe(user);
      } finally {
        await session.close();
      }
      expect(authenticated(user)).toBe(before + 1);
    });
  }
});
