import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSecret } from '../../lambda/core/database-secret';
import { RotationError } from '../../lambda/core/errors';
import type { ConnectionSettings } from '../../lambda/rotation/engines/engine';
import * as explain from '../../lambda/rotation/engines/explanations';
import { PostgresEngine, classifyPgError, pgMasterProblems, pgRolesOf, scramVerifier, type PgRoleRow } from '../../lambda/rotation/engines/postgres';
import { rotationFailure } from '../support/rotation-error';

/**
 * The PostgreSQL engine's safety logic that runs without a server: TLS options per mode, the
 * classification of driver errors (category, code, action; password redacted), and which
 * masters cannot make an alternate user equal. The `pg` driver is replaced by a recording
 * stand-in (no connection is made); test/rotation/* run the same paths against real servers.
 */

interface FakeBehaviour {
  /** What the fake server asks for before the login completes. */
  asks?: 'cleartext' | 'MD5' | 'scram';
  /**
   * A driver that calls the password function once (for a SCRAM request) and then answers a
   * later cleartext or MD5 request (`asks`) with the string it kept, through the password writer.
   */
  keepsPassword?: boolean;
  /**
   * A SCRAM exchange: the AuthenticationSASLContinue event with this message (`{ data }` is the
   * server-first-message; 'no message' emits the event without one; 'skipped' emits none), then the
   * driver's write of the client-final-message (the proof).
   */
  scram?: { data?: unknown } | 'no message' | 'skipped';
  /** A driver whose client lacks parts the engine relies on. */
  driver?: 'no connection' | 'no password writer' | 'no SCRAM writer' | 'no stream';
  fail?: unknown;
}
const fake: {
  behaviour: FakeBehaviour;
  configs: Array<Record<string, unknown>>;
  /** PasswordMessages written (cleartext or MD5 answers). */
  sentPasswords: string[];
  /** SCRAM client-final-messages written (the proof). */
  sentProofs: string[];
  /** What the password function gave the driver. */
  passwordsYielded: string[];
  streamsDestroyed: number;
  connects: number;
  queries: Array<{ sql: string; params?: unknown[] }>;
} = { behaviour: {}, configs: [], sentPasswords: [], sentProofs: [], passwordsYielded: [], streamsDestroyed: 0, connects: 0, queries: [] };

/** What the stand-in driver writes as the SCRAM client-final-message. */
const PROOF = 'c=biws,r=client-nonce-server-nonce,p=cHJvb2Y=';

jest.mock('pg', () => {
  const actual = jest.requireActual('pg') as typeof import('pg');
  class Client {
    connection: (EventEmitter & { stream?: { destroy(): void }; password?: (v: string) => void; sendSCRAMClientFinalMessage?: (v: string) => void }) | undefined = Object.assign(new EventEmitter(), {
      stream: {
        destroy: () => {
          fake.streamsDestroyed += 1;
        },
      },
      // SASLResponse with the SCRAM proof (the engine checks the iteration count before it goes).
      sendSCRAMClientFinalMessage: (value: string) => {
        fake.sentProofs.push(value);
      },
      // PasswordMessage: what would go to the server.
      password: (value: string) => {
        fake.sentPasswords.push(value);
      },
    });
    constructor(private readonly config: Record<string, unknown>) {
      fake.configs.push(config);
      const { driver } = fake.behaviour;
      if (driver === 'no connection') this.connection = undefined;
      if (driver === 'no password writer') delete this.connection!.password;
      if (driver === 'no SCRAM writer') delete this.connection!.sendSCRAMClientFinalMessage;
      if (driver === 'no stream') delete this.connection!.stream;
    }
    on() {
      return this;
    }
    async connect() {
      fake.connects += 1;
      // As in pg: an 'error' on the connection during the login rejects connect().
      const failed = new Promise<never>((_, reject) => this.connection?.on('error', reject));
      await Promise.race([this.login(), failed]);
    }
    private async passwordValue(): Promise<string> {
      const p = this.config.password;
      if (typeof p !== 'function') return String(p);
      const value = await p();
      fake.passwordsYielded.push(value);
      return value;
    }
    private async login() {
      const { asks, fail, keepsPassword, scram } = fake.behaviour;
      const connection = this.connection as EventEmitter & { password(v: string): void; sendSCRAMClientFinalMessage(v: string): void };
      if (keepsPassword) {
        const kept = await this.passwordValue();
        connection.emit(asks === 'MD5' ? 'authenticationMD5Password' : 'authenticationCleartextPassword');
        connection.password(kept);
      } else if (asks) {
        if (asks === 'cleartext') connection.emit('authenticationCleartextPassword');
        if (asks === 'MD5') connection.emit('authenticationMD5Password');
        connection.password(await this.passwordValue());
      }
      if (scram) {
        await this.passwordValue(); // pg asks for the password when the server asks for SASL
        if (scram === 'no message') connection.emit('authenticationSASLContinue');
        else if (scram !== 'skipped') connection.emit('authenticationSASLContinue', scram);
        connection.sendSCRAMClientFinalMessage(PROOF);
      }
      if (fail) throw fail;
    }
    async query(sql: string, params?: unknown[]) {
      fake.queries.push({ sql, params });
      return { rows: [], rowCount: 0 };
    }
    escapeIdentifier(s: string) {
      return actual.Client.prototype.escapeIdentifier.call(this, s);
    }
    escapeLiteral(s: string) {
      return actual.Client.prototype.escapeLiteral.call(this, s);
    }
    async end() {
      return undefined;
    }
  }
  return { Client };
});

const secret: DatabaseSecret = { engine: 'postgres', host: 'db.example.com', port: 5432, username: 'app', password: 'Sup3r-Secret-Pw', extra: {} };
const settings = (over: Partial<ConnectionSettings> = {}): ConnectionSettings => ({ tlsMode: 'verify-full', connectTimeoutMs: 3000, statementTimeoutMs: 4000, ...over });

beforeEach(() => {
  fake.behaviour = {};
  fake.configs = [];
  fake.sentPasswords = [];
  fake.sentProofs = [];
  fake.passwordsYielded = [];
  fake.streamsDestroyed = 0;
  fake.connects = 0;
  fake.queries = [];
});

describe('TLS options passed to pg, per mode', () => {
  const engine = new PostgresEngine();

  it('disable: no TLS', async () => {
    await engine.connect(secret, settings({ tlsMode: 'disable' }));
    expect(fake.configs[0].ssl).toBe(false);
  });

  it('require: TLS without certificate checks', async () => {
    await engine.connect(secret, settings({ tlsMode: 'require' }));
    expect(fake.configs[0].ssl).toEqual({ rejectUnauthorized: false });
  });

  it('verify-full: certificate and host name checked (servername = host), default trust store', async () => {
    await engine.connect(secret, settings());
    expect(fake.configs[0].ssl).toEqual({ rejectUnauthorized: true, servername: 'db.example.com', ca: undefined });
  });

  it('verify-full with a CA file: its contents are the trusted CAs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-ca-'));
    try {
      const file = join(dir, 'ca.pem');
      writeFileSync(file, '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n');
      await engine.connect(secret, settings({ caFile: file }));
      expect(fake.configs[0].ssl).toEqual({ rejectUnauthorized: true, servername: 'db.example.com', ca: '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['10.0.12.7', undefined],
    ['::1', undefined],
    ['fd00::5', undefined],
    ['1.example.com', '1.example.com'],
    ['example.123', 'example.123'],
    ['db-1.internal', 'db-1.internal'],
  ])('verify-full to host %s: servername %s (an IP address is checked against the IP SANs, no SNI)', async (host, servername) => {
    await engine.connect({ ...secret, host }, settings());
    expect((fake.configs[0].ssl as { servername?: string }).servername).toBe(servername);
  });
});

describe('weak password requests on an unverified connection', () => {
  const engine = new PostgresEngine();

  it.each([['cleartext', 'in cleartext'], ['MD5', 'as an MD5 digest']] as const)('a %s request below verify-full is refused and nothing of the password is sent', async (asks, words) => {
    fake.behaviour = { asks };
    const e = await rotationFailure(engine.connect(secret, settings({ tlsMode: 'require' })));
    expect(e.category).toBe('tls');
    expect(e.code).toBe('WeakAuthUnverifiedServer');
    expect(e.message).toContain(words);
    expect(e.message).toContain('TLS mode "require"');
    expect(e.action).toBe(explain.pgWeakAuthUnverified());
    expect(fake.sentPasswords).toEqual([]);
  });

  it('SCRAM below verify-full gets the password', async () => {
    fake.behaviour = { asks: 'scram' };
    await engine.connect(secret, settings({ tlsMode: 'disable' }));
    expect(fake.sentPasswords).toEqual([secret.password]);
  });

  it('with verify-full a cleartext request gets the password (the server is proven)', async () => {
    fake.behaviour = { asks: 'cleartext' };
    await engine.connect(secret, settings());
    expect(fake.sentPasswords).toEqual([secret.password]);
  });

  it('a driver failure at login is classified and redacted', async () => {
    fake.behaviour = { fail: Object.assign(new Error(`password authentication failed for user "app" (${secret.password})`), { code: '28P01' }) };
    const e = await rotationFailure(engine.connect(secret, settings()));
    expect(e.category).toBe('authentication');
    expect(e.message).not.toContain(secret.password);
    expect(e.message).toContain('could not log in as app@db.example.com:5432/postgres');
  });
});

describe('refusal in depth below verify-full: the password function and the password writer both refuse after a weak request', () => {
  const engine = new PostgresEngine();

  it.each([
    ['cleartext', 'require', 'in cleartext'],
    ['MD5', 'require', 'as an MD5 digest'],
    ['cleartext', 'disable', 'in cleartext'],
  ] as const)('%s request after SCRAM, TLS mode %s: refused [tls], nothing written, connection closed', async (asks, tlsMode, words) => {
    fake.behaviour = { asks, keepsPassword: true };
    const e = await rotationFailure(engine.connect(secret, settings({ tlsMode })));
    expect([e.category, e.code]).toEqual(['tls', 'WeakAuthUnverifiedServer']);
    expect(e.detail).toBe(`PostgreSQL: refused to log in as app@db.example.com:5432/postgres: the server asked for the password ${words} on a connection whose server is not verified (TLS mode "${tlsMode}"); nothing of the password was sent`);
    expect(fake.sentPasswords).toEqual([]);
    expect(fake.streamsDestroyed).toBe(1);
  });

  it.each(['cleartext', 'MD5'] as const)('after a %s request the password function refuses as well: the driver never holds the password', async (asks) => {
    fake.behaviour = { asks };
    const e = await rotationFailure(engine.connect(secret, settings({ tlsMode: 'require' })));
    expect([e.category, e.code]).toEqual(['tls', 'WeakAuthUnverifiedServer']);
    expect(fake.passwordsYielded).toEqual([]);
    expect(fake.sentPasswords).toEqual([]);
  });

  it('the refusal names the database of the secret', async () => {
    fake.behaviour = { asks: 'cleartext', keepsPassword: true };
    const e = await rotationFailure(engine.connect({ ...secret, dbname: 'appdb' }, settings({ tlsMode: 'require' })));
    expect(e.message).toContain('refused to log in as app@db.example.com:5432/appdb: ');
  });

  it('a connection without a stream is refused all the same', async () => {
    fake.behaviour = { asks: 'cleartext', keepsPassword: true, driver: 'no stream' };
    const e = await rotationFailure(engine.connect(secret, settings({ tlsMode: 'require' })));
    expect([e.category, e.code]).toEqual(['tls', 'WeakAuthUnverifiedServer']);
    expect(fake.sentPasswords).toEqual([]);
  });
});

describe('SCRAM iteration count asked by an unverified server', () => {
  it('a repeated count: refused unless every count is high enough (pg computes the proof with the last one)', async () => {
    fake.behaviour = { scram: { data: `r=client-nonce-server-nonce,s=${salt},i=4096,i=1` } };
    const e = await rotationFailure(engine.connect(secret, settings({ tlsMode: 'require' })));
    expect([e.category, e.code]).toEqual(['tls', 'WeakScramUnverifiedServer']);
    expect(fake.sentProofs).toEqual([]);
  });
  const engine = new PostgresEngine();
  const salt = Buffer.from('0123456789abcdef').toString('base64');
  const serverFirst = (i: string) => `r=client-nonce-server-nonce,s=${salt},i=${i}`;

  it.each([
    ['require', '4096'],
    ['require', '4097'],
    ['require', '600000'],
    ['disable', '4096'],
  ] as const)('TLS mode %s, %s iterations: the proof is sent', async (tlsMode, i) => {
    fake.behaviour = { scram: { data: serverFirst(i) } };
    await engine.connect(secret, settings({ tlsMode }));
    expect(fake.sentProofs).toEqual([PROOF]);
    expect(fake.streamsDestroyed).toBe(0);
  });

  it.each([
    ['require', '4095', 4095],
    ['require', '1', 1],
    ['disable', '1', 1],
    ['require', '0', 0],
  ] as const)('TLS mode %s, %s iterations: refused [tls] before the proof is sent, connection closed', async (tlsMode, i, n) => {
    fake.behaviour = { scram: { data: serverFirst(i) } };
    const e = await rotationFailure(engine.connect(secret, settings({ tlsMode })));
    expect([e.category, e.code]).toEqual(['tls', 'WeakScramUnverifiedServer']);
    expect(e.detail).toBe(`PostgreSQL: refused to log in as app@db.example.com:5432/postgres: the server asked for SCRAM with an iteration count of ${n} (less than 4096, which makes the login proof cheap to attack offline) on a connection whose server is not verified (TLS mode "${tlsMode}"); no proof was sent`);
    expect(e.action).toBe(explain.pgWeakScramUnverified(4096));
    expect(fake.sentProofs).toEqual([]);
    expect(fake.streamsDestroyed).toBe(1);
  });

  it('the refusal names the database of the secret', async () => {
    fake.behaviour = { scram: { data: serverFirst('1') } };
    const e = await rotationFailure(engine.connect({ ...secret, dbname: 'appdb' }, settings({ tlsMode: 'require' })));
    expect(e.message).toContain('refused to log in as app@db.example.com:5432/appdb: ');
  });

  // pg reads the server-first-message as comma-separated attributes in any order.
  it.each([
    ['first', `i=4096,r=client-nonce-server-nonce,s=${salt}`],
    ['in the middle', `r=client-nonce-server-nonce,i=4096,s=${salt}`],
    ['before an extension', `r=client-nonce-server-nonce,s=${salt},i=4096,x=ext`],
  ])('the count is read wherever it stands (%s)', async (_where, data) => {
    fake.behaviour = { scram: { data } };
    await engine.connect(secret, settings({ tlsMode: 'require' }));
    expect(fake.sentProofs).toEqual([PROOF]);
  });

  it('a low count standing first is refused with that count', async () => {
    fake.behaviour = { scram: { data: `i=1,r=client-nonce-server-nonce,s=${salt}` } };
    const e = await rotationFailure(engine.connect(secret, settings({ tlsMode: 'require' })));
    expect(e.message).toContain('an iteration count of 1 ');
    expect(fake.sentProofs).toEqual([]);
  });

  it.each([
    ['no count', { data: `r=client-nonce-server-nonce,s=${salt}` }],
    ['a count that is no number', { data: `r=client-nonce-server-nonce,s=${salt},i=lots` }],
    ['a count inside another attribute', { data: `r=client-nonce-server-nonce,s=${salt},x=i=4096` }],
    ['no data', {}],
    ['no message', 'no message'],
    ['no server-first-message at all', 'skipped'],
  ] as const)('%s: the count is unknown, refused as 0, no proof sent', async (_what, scram) => {
    fake.behaviour = { scram };
    const e = await rotationFailure(engine.connect(secret, settings({ tlsMode: 'require' })));
    expect([e.category, e.code]).toEqual(['tls', 'WeakScramUnverifiedServer']);
    expect(e.message).toContain('an iteration count of 0 ');
    expect(fake.sentProofs).toEqual([]);
  });

  it('a connection without a stream is refused all the same', async () => {
    fake.behaviour = { scram: { data: serverFirst('1') }, driver: 'no stream' };
    const e = await rotationFailure(engine.connect(secret, settings({ tlsMode: 'require' })));
    expect([e.category, e.code]).toEqual(['tls', 'WeakScramUnverifiedServer']);
    expect(fake.sentProofs).toEqual([]);
  });

  it('verify-full: the server is proven, any count gets the proof', async () => {
    fake.behaviour = { scram: { data: serverFirst('1') } };
    await engine.connect(secret, settings());
    expect(fake.sentProofs).toEqual([PROOF]);
  });
});

describe('a pg driver without the hooks the guard needs', () => {
  const engine = new PostgresEngine();

  it.each([
    ['no connection', 'no connection events to check password requests on'],
    ['no password writer', 'no connection events to check password requests on'],
    ['no SCRAM writer', 'no SCRAM writer to check the iteration count on'],
  ] as const)('%s, below verify-full: a configuration error, no login attempted', async (driver, words) => {
    fake.behaviour = { driver, asks: 'cleartext' };
    const e = await rotationFailure(engine.connect(secret, settings({ tlsMode: 'require' })));
    expect([e.category, e.code]).toEqual(['configuration', 'PgDriverUnsupported']);
    expect(e.detail).toBe(`PostgreSQL: this version of the pg driver has ${words}`);
    expect(e.action).toBe('Deploy the pg version the function was built with; nothing was sent.');
    expect(fake.connects).toBe(0);
    expect(fake.sentPasswords).toEqual([]);
  });
});

describe('client configuration passed to pg', () => {
  const engine = new PostgresEngine();

  it.each([
    ['disable', false],
    ['require', true],
    ['verify-full', true],
  ] as const)('TLS mode %s: channel binding (SCRAM-SHA-256-PLUS) %s', async (tlsMode, binding) => {
    await engine.connect(secret, settings({ tlsMode }));
    expect(fake.configs[0].enableChannelBinding).toBe(binding);
  });

  it('target, timeouts (the client-side query timeout a second after the server-side ones) and application name', async () => {
    await engine.connect(secret, settings({ connectTimeoutMs: 2500, statementTimeoutMs: 7000 }));
    const { ssl: _ssl, enableChannelBinding: _b, ...rest } = fake.configs[0];
    expect(rest).toEqual({
      host: 'db.example.com', port: 5432, user: 'app', password: secret.password, database: 'postgres',
      connectionTimeoutMillis: 2500, statement_timeout: 7000, lock_timeout: 7000, query_timeout: 8000,
      application_name: 'rotor-rotation',
    });
  });

  it('the database of the secret, when it names one', async () => {
    await engine.connect({ ...secret, dbname: 'appdb' }, settings());
    expect(fake.configs[0].database).toBe('appdb');
  });

  it('below verify-full pg gets a password function that yields the password while nothing weak was asked', async () => {
    await engine.connect(secret, settings({ tlsMode: 'require' }));
    const password = fake.configs[0].password as () => Promise<string>;
    expect(typeof password).toBe('function');
    await expect(password()).resolves.toBe(secret.password);
  });
});

/** Checks a PostgreSQL SCRAM-SHA-256 verifier against the password (RFC 5802 / 7677); returns its iteration count. */
function verifierIterations(verifier: string, password: string): number {
  const m = /^SCRAM-SHA-256\$([0-9]+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(verifier);
  if (!m) throw new Error('not a SCRAM-SHA-256 verifier');
  const iterations = Number(m[1]);
  const salted = pbkdf2Sync(password, Buffer.from(m[2], 'base64'), iterations, 32, 'sha256');
  const storedKey = createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest('base64');
  const serverKey = createHmac('sha256', salted).update('Server Key').digest('base64');
  expect([m[3], m[4]]).toEqual([storedKey, serverKey]);
  return iterations;
}

describe('new passwords are sent as SCRAM verifiers', () => {
  it('scramVerifier: PostgreSQL\'s format, 4096 iterations by default, keys that verify against the password, a fresh 16-byte salt', () => {
    const v = scramVerifier('New-Pass-123');
    expect(verifierIterations(v, 'New-Pass-123')).toBe(4096);
    expect(Buffer.from(v.split('$')[1].split(':')[1], 'base64')).toHaveLength(16);
    expect(scramVerifier('New-Pass-123')).not.toBe(v);
    expect(() => verifierIterations(v, 'New-Pass-124')).toThrow();
  });

  it('scramVerifier with another iteration count states it', () => {
    expect(verifierIterations(scramVerifier('x y~z', 5000), 'x y~z')).toBe(5000);
  });

  it.each(['New-Pass-123', 'p', ' !~', 'a b"c\'d'])('an ASCII password (%s): ALTER ROLE carries a verifier of it, not the password', async (pw) => {
    const session = await new PostgresEngine().connect(secret, settings());
    await session.setPassword('app', pw);
    expect(fake.queries).toHaveLength(1);
    const m = /^ALTER ROLE "app" WITH PASSWORD '(SCRAM-SHA-256\$[^']+)'$/.exec(fake.queries[0].sql);
    expect(m).not.toBeNull();
    expect(verifierIterations(m![1], pw)).toBe(4096);
  });

  it.each(['Pässwörd-1', 'pw\tx', 'ünïcode', '\u00e9'])('a password outside printable ASCII (%j) goes as it is (the server applies SASLprep)', async (pw) => {
    const session = await new PostgresEngine().connect(secret, settings());
    await session.setPassword('app', pw);
    expect(fake.queries[0].sql).toBe(`ALTER ROLE "app" WITH PASSWORD '${pw}'`);
  });
});

describe('classifyPgError', () => {
  const s = settings({ tlsMode: 'require' });
  const classify = (code: unknown, message: string, opts: { alsoSecret?: string[]; secret?: DatabaseSecret; settings?: ConnectionSettings } = {}) =>
    classifyPgError(Object.assign(new Error(message), { code }), opts.secret ?? secret, opts.settings ?? s, 'change the password', opts.alsoSecret);

  it('names the target and what failed, and redacts the password and the other secrets given', () => {
    const e = classify('XX000', `boom ${secret.password} and new-password-123 and SCRAM-SHA-256$4096:x`, { alsoSecret: ['new-password-123', 'SCRAM-SHA-256$4096:x'] });
    expect(e.message).toContain('PostgreSQL: could not change the password as app@db.example.com:5432/postgres: boom [REDACTED] and [REDACTED] and [REDACTED]');
    expect(e.message).not.toContain(secret.password);
    expect(classify('XX000', 'x', { secret: { ...secret, dbname: 'appdb' } }).message).toContain('app@db.example.com:5432/appdb: x');
  });

  it('keeps no cause (the driver error may carry the statement)', () => {
    expect(classify('28P01', 'x').cause).toBeUndefined();
  });

  it.each([
    ['28000', 'role "app" is not permitted to log in', 'permission', explain.pgNologin('app')],
    ['28000', 'ROLE "app" IS NOT PERMITTED TO LOG IN', 'permission', explain.pgNologin('app')],
    ['28000', 'no pg_hba.conf entry for host', 'authentication', undefined],
    ['28P01', 'password authentication failed', 'authentication', undefined],
    ['28P01', 'role is not permitted to log in', 'authentication', undefined],
    ['3D000', 'database "x" does not exist', 'configuration', 'The database named by "dbname" does not exist; fix "dbname" in the secret.'],
    ['42501', 'permission denied to alter role', 'permission', undefined],
    ['42704', 'role "x" does not exist', 'configuration', 'The role named in the secret does not exist in this database server; fix "username" in the secret.'],
    ['25006', 'cannot execute ALTER ROLE in a read-only transaction', 'configuration', explain.readOnlyServer()],
    ['57014', 'canceling statement due to statement timeout', 'network', 'The statement did not finish within 4000 ms (statement/lock timeout); check for locks on the role or raise ROTOR_STATEMENT_TIMEOUT_MS.'],
    ['55P03', 'canceling statement due to lock timeout', 'network', 'The statement did not finish within 4000 ms (statement/lock timeout); check for locks on the role or raise ROTOR_STATEMENT_TIMEOUT_MS.'],
    ['53300', 'sorry, too many clients already', 'network', 'The server is not accepting connections right now (starting, shutting down or out of connections); retry later.'],
    ['57P03', 'the database system is starting up', 'network', 'The server is not accepting connections right now (starting, shutting down or out of connections); retry later.'],
    ['57P01', 'terminating connection due to administrator command', 'network', 'The server is not accepting connections right now (starting, shutting down or out of connections); retry later.'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed', 'tls', explain.tlsFailed('require')],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'altname', 'tls', explain.tlsFailed('require')],
    ['EPROTO', 'x', 'tls', explain.tlsFailed('require')],
    [undefined, 'The server does not support SSL connections', 'tls', explain.tlsFailed('require')],
    [undefined, 'tls handshake', 'tls', explain.tlsFailed('require')],
    [undefined, 'unable to verify the first Certificate', 'tls', explain.tlsFailed('require')],
    ['ECONNREFUSED', 'connect ECONNREFUSED', 'network', explain.connectionRefused()],
    ['ENOTFOUND', 'getaddrinfo ENOTFOUND', 'network', explain.dnsFailed()],
    ['EAI_AGAIN', 'getaddrinfo EAI_AGAIN', 'network', explain.dnsFailed()],
    ['ECONNRESET', 'read', 'network', explain.unreachable(3000)],
    ['EHOSTUNREACH', 'x', 'network', explain.unreachable(3000)],
    ['EPIPE', 'x', 'network', explain.unreachable(3000)],
    [undefined, 'Connection terminated due to connection timeout', 'network', explain.unreachable(3000)],
    [undefined, 'connection TIMEOUT', 'network', explain.unreachable(3000)],
    [undefined, 'Connection terminated unexpectedly', 'network', explain.unreachable(3000)],
    ['XX000', 'internal error', 'configuration', 'Unexpected database error; check the database log around this time.'],
  ])('code %s, "%s" -> %s', (code, message, category, action) => {
    const e = classify(code, message);
    expect(e.category).toBe(category);
    expect(e.code).toBe(code ?? category);
    if (action !== undefined) expect(e.action).toBe(action);
  });

  it('the 28P01 / 28000 action tells to fix the stored password; 42501 names the privileges', () => {
    expect(classify('28P01', 'x').action).toContain('not valid for that user');
    expect(classify('28000', 'x').action).toContain('not valid for that user');
    expect(classify('42501', 'x').action).toContain('CREATEROLE or superuser');
  });

  it('a code that is not a string is ignored (category used as code)', () => {
    expect(classify(28000, 'x').code).toBe('configuration');
    expect(classify(28000, 'x').category).toBe('configuration');
  });

  it('TLS failures under verify-full get the verify-full explanation', () => {
    expect(classify('CERT_HAS_EXPIRED', 'x', { settings: settings() }).action).toBe(explain.tlsFailed('verify-full'));
  });

  it('a TLS word in the text wins over a network code; the text is matched only after redaction', () => {
    expect(classify('ECONNRESET', 'SSL connection has been closed unexpectedly').category).toBe('tls');
    // A password that looks like "SSL" is redacted before the message is read.
    const pw = { ...secret, password: 'xSSLx-TLS-certificate' };
    expect(classify('XX000', 'something about xSSLx-TLS-certificate', { secret: pw }).category).toBe('configuration');
  });

  it('null, a string or a plain object are classified without a crash', () => {
    expect(classifyPgError(null, secret, s, 'log in').message).toContain(': null');
    expect(classifyPgError('just text', secret, s, 'log in').message).toContain(': just text');
    expect(classifyPgError({ code: '28P01' }, secret, s, 'log in').category).toBe('authentication');
  });
});

function role(over: Partial<PgRoleRow> & { rolname: string }): PgRoleRow {
  return {
    is_master: false, rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolreplication: false, rolbypassrls: false,
    rolconnlimit: -1, validuntil: null, version: 160000, admin: true, ...over,
  };
}

describe('pgRolesOf / pgMasterProblems', () => {
  const master = (over: Partial<PgRoleRow> = {}) => role({ rolname: 'master', is_master: true, rolcreaterole: true, ...over });

  it('pgRolesOf finds the master and indexes every row by name', () => {
    const rows = [role({ rolname: 'app' }), master(), role({ rolname: 'app_clone' })];
    const roles = pgRolesOf(rows);
    expect(roles.master.rolname).toBe('master');
    expect([...roles.byName.keys()]).toEqual(['app', 'master', 'app_clone']);
    expect(roles.byName.get('app_clone')).toBe(rows[2]);
  });

  it('pgRolesOf refuses rows without the master', () => {
    let e: unknown;
    try {
      pgRolesOf([role({ rolname: 'app' })]);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(RotationError);
    expect((e as RotationError).code).toBe('NoMasterRole');
  });

  it('a superuser master can do everything', () => {
    const roles = pgRolesOf([master({ rolsuper: true, rolcreaterole: false, version: 170000 }), role({ rolname: 'app', rolsuper: true, admin: false }), role({ rolname: 'app_clone', rolreplication: true, admin: false })]);
    expect(pgMasterProblems(roles, 'app', 'app_clone')).toEqual([]);
  });

  it('a master without CREATEROLE: one problem, nothing else checked', () => {
    const roles = pgRolesOf([master({ rolcreaterole: false }), role({ rolname: 'app', rolsuper: true, admin: false })]);
    expect(pgMasterProblems(roles, 'app', 'app_clone')).toEqual([
      { code: 'MasterNeedsCreaterole', why: 'it has neither CREATEROLE nor SUPERUSER', action: explain.pgMasterNeedsCreaterole('master') },
    ]);
  });

  it('a CREATEROLE master with ADMIN OPTION on plain roles has no problem', () => {
    const roles = pgRolesOf([master(), role({ rolname: 'app' }), role({ rolname: 'app_clone' })]);
    expect(pgMasterProblems(roles, 'app', 'app_clone')).toEqual([]);
  });

  it('superuser-only attributes on the base user or the clone are problems, each named', () => {
    const roles = pgRolesOf([master(), role({ rolname: 'app', rolreplication: true, rolbypassrls: true }), role({ rolname: 'app_clone', rolsuper: true })]);
    expect(pgMasterProblems(roles, 'app', 'app_clone')).toEqual([
      { code: 'SuperuserOnlyAttributes', why: 'app has REPLICATION, BYPASSRLS, which only a superuser may alter', action: explain.pgSuperuserOnlyAttributes('app', ['REPLICATION', 'BYPASSRLS'], false) },
      { code: 'SuperuserOnlyAttributes', why: 'app_clone has SUPERUSER, which only a superuser may alter', action: explain.pgSuperuserOnlyAttributes('app_clone', ['SUPERUSER'], true) },
    ]);
  });

  it('PostgreSQL 16 (160000) and later: ADMIN OPTION on each role is needed; 15 does not need it', () => {
    const on = (version: number) => pgRolesOf([master({ version }), role({ rolname: 'app', admin: false }), role({ rolname: 'app_clone', admin: true })]);
    expect(pgMasterProblems(on(160000), 'app', 'app_clone')).toEqual([
      { code: 'MasterNeedsAdminOption', why: 'it holds no ADMIN OPTION on app (PostgreSQL 16+)', action: explain.pgMasterNeedsAdminOption('app', 'master') },
    ]);
    expect(pgMasterProblems(on(159999), 'app', 'app_clone')).toEqual([]);
  });

  it('without a clone the base user\'s own problems are still reported', () => {
    const roles = pgRolesOf([master(), role({ rolname: 'app', rolbypassrls: true, admin: false })]);
    expect(pgMasterProblems(roles, 'app')).toEqual([
      { code: 'SuperuserOnlyAttributes', why: 'app has BYPASSRLS, which only a superuser may alter', action: explain.pgSuperuserOnlyAttributes('app', ['BYPASSRLS'], false) },
      { code: 'MasterNeedsAdminOption', why: 'it holds no ADMIN OPTION on app (PostgreSQL 16+)', action: explain.pgMasterNeedsAdminOption('app', 'master') },
    ]);
  });

  it('without a clone only the base user is checked; a role that does not exist yet is skipped', () => {
    const roles = pgRolesOf([master(), role({ rolname: 'app' }), role({ rolname: 'app_clone', rolsuper: true, admin: false })]);
    expect(pgMasterProblems(roles, 'app')).toEqual([]);
    expect(pgMasterProblems(roles, 'app', 'app_clone').map((p) => p.code)).toEqual(['SuperuserOnlyAttributes', 'MasterNeedsAdminOption']);
    expect(pgMasterProblems(pgRolesOf([master(), role({ rolname: 'app' })]), 'app', 'app_clone')).toEqual([]);
  });
});
