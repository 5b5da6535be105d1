import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSecret } from '../../lambda/core/database-secret';
import { RotationError } from '../../lambda/core/errors';
import type { ConnectionSettings } from '../../lambda/rotation/engines/engine';
import * as explain from '../../lambda/rotation/engines/explanations';
import { PostgresEngine, classifyPgError, pgMasterProblems, pgRolesOf, type PgRoleRow } from '../../lambda/rotation/engines/postgres';
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
  fail?: unknown;
}
const fake: { behaviour: FakeBehaviour; configs: Array<Record<string, unknown>>; sentPasswords: string[] } = { behaviour: {}, configs: [], sentPasswords: [] };

jest.mock('pg', () => {
  class Client {
    connection = Object.assign(new EventEmitter(), {
      stream: { destroy: () => undefined },
      // SASLResponse with the SCRAM proof (the engine checks the iteration count before it goes).
      sendSCRAMClientFinalMessage: () => true,
      // PasswordMessage: what would go to the server.
      password: (value: string) => {
        fake.sentPasswords.push(value);
        return true;
      },
    });
    constructor(private readonly config: Record<string, unknown>) {
      fake.configs.push(config);
    }
    on() {
      return this;
    }
    async connect() {
      const { asks, fail } = fake.behaviour;
      if (asks) {
        if (asks === 'cleartext') this.connection.emit('authenticationCleartextPassword');
        if (asks === 'MD5') this.connection.emit('authenticationMD5Password');
        const p = this.config.password;
        this.connection.password(typeof p === 'function' ? await p() : String(p));
      }
      if (fail) throw fail;
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

  it('without a clone only the base user is checked; a role that does not exist yet is skipped', () => {
    const roles = pgRolesOf([master(), role({ rolname: 'app' }), role({ rolname: 'app_clone', rolsuper: true, admin: false })]);
    expect(pgMasterProblems(roles, 'app')).toEqual([]);
    expect(pgMasterProblems(roles, 'app', 'app_clone').map((p) => p.code)).toEqual(['SuperuserOnlyAttributes', 'MasterNeedsAdminOption']);
    expect(pgMasterProblems(pgRolesOf([master(), role({ rolname: 'app' })]), 'app', 'app_clone')).toEqual([]);
  });
});
