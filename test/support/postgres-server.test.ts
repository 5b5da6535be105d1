import * as fs from 'node:fs';
import * as net from 'node:net';
import { inspect } from 'node:util';
import { Client } from 'pg';
import { startBlackhole, unusedPort } from './blackhole';
import { freePort } from './free-port';
import { canLogin, PgServer, startPostgres } from './postgres-server';

function tlsClient(server: PgServer, caFile: string): Client {
  const c = new Client({
    host: server.host,
    port: server.port,
    database: server.database,
    user: server.superuser.username,
    password: server.superuser.password,
    ssl: { ca: fs.readFileSync(caFile, 'utf8'), rejectUnauthorized: true, servername: 'localhost' },
    connectionTimeoutMillis: 5000,
  });
  c.on('error', () => undefined);
  return c;
}

describe('startPostgres (no TLS)', () => {
  let pg: PgServer;
  let startMs = 0;

  beforeAll(async () => {
    const t0 = Date.now();
    pg = await startPostgres();
    startMs = Date.now() - t0;
    console.log(`postgres (plain) ready in ${startMs} ms on port ${pg.port}`);
  });
  afterAll(async () => {
    await pg?.stop();
  });

  it('exposes connection facts and no connection string', () => {
    expect(pg.host).toBe('127.0.0.1');
    expect(pg.port).toBeGreaterThan(0);
    expect(pg.database).toBe('postgres');
    expect(pg.superuser.username).toBe('rotor_admin');
    expect(pg.superuser.password.length).toBeGreaterThanOrEqual(20);
    expect(pg.caFile).toBeUndefined();
    expect(pg.connectionString).toBeUndefined();
    expect(fs.existsSync(pg.dataDir)).toBe(true);
    expect(inspect(pg)).not.toContain(pg.superuser.password);
    expect(inspect(pg.superuser)).not.toContain(pg.superuser.password);
  });

  it('runs PostgreSQL 15 with scram password auth for the superuser', async () => {
    const r = await pg.query('SELECT current_user AS u, current_setting($1) AS v, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su', [
      'server_version_num',
    ]);
    expect(r.rows[0].u).toBe('rotor_admin');
    expect(Math.floor(Number(r.rows[0].v) / 10000)).toBe(15);
    expect(r.rows[0].su).toBe(true);
    const pw = await pg.query("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' AS scram FROM pg_authid WHERE rolname = 'rotor_admin'");
    expect(pw.rows[0].scram).toBe(true);
    const hba = await pg.query('SELECT type, auth_method FROM pg_hba_file_rules');
    expect(hba.rows.length).toBeGreaterThan(0);
    for (const row of hba.rows) expect(row.auth_method).toBe('scram-sha-256');
  });

  it('accepts the right password and rejects a wrong one', async () => {
    await expect(canLogin(pg, pg.superuser.username, pg.superuser.password)).resolves.toBe(true);
    await expect(canLogin(pg, pg.superuser.username, pg.superuser.password + 'x')).resolves.toBe(false);
    await expect(canLogin(pg, 'no_such_user', 'whatever')).resolves.toBe(false);
  });

  it('canLogin rethrows non-auth errors', async () => {
    await expect(canLogin({ ...pg, database: 'no_such_db' }, pg.superuser.username, pg.superuser.password)).rejects.toMatchObject({ code: '3D000' });
    await expect(canLogin(pg, pg.superuser.username, pg.superuser.password, { ssl: 'require' })).rejects.toThrow(/SSL/i);
  });

  it('can create login roles as fixtures', async () => {
    await pg.query("CREATE ROLE app_user LOGIN PASSWORD 'app-pass-1'");
    await expect(canLogin(pg, 'app_user', 'app-pass-1')).resolves.toBe(true);
    await expect(canLogin(pg, 'app_user', 'nope')).resolves.toBe(false);
  });

  it('pause stops the server and resume brings it back on the same port', async () => {
    const port = pg.port;
    const held = new Client({ host: pg.host, port: pg.port, database: pg.database, user: pg.superuser.username, password: pg.superuser.password });
    const heldErrors: Error[] = [];
    held.on('error', (e) => heldErrors.push(e));
    await held.connect();

    const t0 = Date.now();
    await pg.pause();
    const pauseMs = Date.now() - t0;
    expect(pg.pid).toBeUndefined();
    await expect(canLogin(pg, pg.superuser.username, pg.superuser.password)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(held.query('SELECT 1')).rejects.toThrow();
    await held.end().catch(() => undefined);

    const t1 = Date.now();
    await pg.resume();
    console.log(`pause ${pauseMs} ms, resume ${Date.now() - t1} ms`);
    expect(pg.port).toBe(port);
    expect(pg.pid).toBeGreaterThan(0);
    await expect(canLogin(pg, pg.superuser.username, pg.superuser.password)).resolves.toBe(true);
    // data survived
    await expect(canLogin(pg, 'app_user', 'app-pass-1')).resolves.toBe(true);
  });
});

describe('startPostgres (TLS)', () => {
  let pg: PgServer;
  let strict: PgServer;

  beforeAll(async () => {
    const t0 = Date.now();
    const [a, b] = await Promise.all([
      startPostgres({ tls: true }).then((s) => {
        console.log(`postgres (tls) ready in ${Date.now() - t0} ms on port ${s.port}`);
        return s;
      }),
      startPostgres({ requireTls: true, database: 'appdb' }).then((s) => {
        console.log(`postgres (requireTls + appdb) ready in ${Date.now() - t0} ms on port ${s.port}`);
        return s;
      }),
    ]);
    pg = a;
    strict = b;
  });
  afterAll(async () => {
    await Promise.all([pg?.stop(), strict?.stop()]);
  });

  it('has CA files and distinct servers', () => {
    expect(pg.caFile && fs.existsSync(pg.caFile)).toBeTruthy();
    expect(pg.otherCaFile && fs.existsSync(pg.otherCaFile)).toBeTruthy();
    expect(pg.port).not.toBe(strict.port);
    expect(pg.superuser.password).not.toBe(strict.superuser.password);
    expect(strict.database).toBe('appdb');
  });

  it('verifies the server certificate against caFile and the session is encrypted', async () => {
    const c = tlsClient(pg, pg.caFile!);
    await c.connect();
    try {
      const r = await c.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      expect(r.rows[0].ssl).toBe(true);
    } finally {
      await c.end();
    }
  });

  it('query() uses verified TLS', async () => {
    const r = await pg.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    expect(r.rows[0].ssl).toBe(true);
  });

  it('rejects the server certificate with an unrelated CA', async () => {
    const c = tlsClient(pg, pg.otherCaFile!);
    await expect(c.connect()).rejects.toThrow(/certificate|self.signed|verify/i);
    await c.end().catch(() => undefined);
  });

  it('canLogin over TLS: verify-full, require, and disable on a non-requireTls server', async () => {
    const su = pg.superuser;
    await expect(canLogin(pg, su.username, su.password)).resolves.toBe(true);
    await expect(canLogin(pg, su.username, 'wrong')).resolves.toBe(false);
    await expect(canLogin(pg, su.username, su.password, { ssl: 'require' })).resolves.toBe(true);
    await expect(canLogin(pg, su.username, su.password, { ssl: 'disable' })).resolves.toBe(true);
    await expect(canLogin({ ...pg, caFile: pg.otherCaFile }, su.username, su.password)).rejects.toThrow(/certificate|verify/i);
  });

  it('requireTls rejects plaintext connections and accepts TLS ones', async () => {
    const su = strict.superuser;
    await expect(canLogin(strict, su.username, su.password, { ssl: 'disable' })).resolves.toBe(false);
    await expect(canLogin(strict, su.username, su.password)).resolves.toBe(true);
    const r = await strict.query('SELECT current_database() AS db, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    expect(r.rows[0]).toEqual({ db: 'appdb', ssl: true });
  });

  it('stop removes the temp dir', async () => {
    const extra = await startPostgres({ tls: true });
    const dir = extra.dataDir;
    expect(fs.existsSync(dir)).toBe(true);
    await extra.stop();
    await extra.stop(); // idempotent
    expect(fs.existsSync(dir)).toBe(false);
  });
});

describe('startPostgres robustness', () => {
  it('retries on another port when the chosen one is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', () => res()));
    const taken = (blocker.address() as net.AddressInfo).port;
    const picks: number[] = [];
    const pg = await startPostgres({
      pickPort: async () => {
        const p = picks.length === 0 ? taken : await freePort();
        picks.push(p);
        return p;
      },
    });
    try {
      expect(picks.length).toBe(2);
      expect(pg.port).toBe(picks[1]);
      await expect(canLogin(pg, pg.superuser.username, pg.superuser.password)).resolves.toBe(true);
    } finally {
      await pg.stop();
      await new Promise<void>((res) => blocker.close(() => res()));
    }
  });

  it('never writes passwords to the server log', async () => {
    const pg = await startPostgres();
    try {
      await pg.query("CREATE ROLE leak_check LOGIN PASSWORD 'fixture-secret-123'");
      await expect(pg.query("ALTER ROLE leak_check PASSWORD 'fixture-secret-456' BOGUS")).rejects.toThrow();
      await expect(canLogin(pg, 'leak_check', 'wrong-secret-789')).resolves.toBe(false);
      const log = fs.readFileSync(pg.logFile, 'utf8');
      expect(log).toContain('password authentication failed');
      for (const secret of [pg.superuser.password, 'fixture-secret-123', 'fixture-secret-456', 'wrong-secret-789']) expect(log).not.toContain(secret);
    } finally {
      await pg.stop();
    }
  });
});

describe('network helpers', () => {
  it('freePort returns a bindable port', async () => {
    const port = await freePort();
    const srv = net.createServer();
    await new Promise<void>((res, rej) => srv.once('error', rej).listen(port, '127.0.0.1', () => res()));
    expect((srv.address() as net.AddressInfo).port).toBe(port);
    await new Promise<void>((res) => srv.close(() => res()));
  });

  it('a pg connection to the blackhole is ended by the client\'s own connect timeout, not before it', async () => {
    const bh = await startBlackhole();
    // Timers are faked (I/O is not): the test moves the clock, so no wall-clock bound is needed.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const c = new Client({ host: bh.host, port: bh.port, user: 'x', password: 'y', database: 'z', connectionTimeoutMillis: 500 });
      c.on('error', () => undefined);
      let settled: string | undefined;
      const connecting = c.connect().then(() => (settled = 'connected'), (e: Error) => {
        settled = `rejected: ${e.message}`;
      });
      while (bh.accepted === 0) await new Promise((r) => setImmediate(r));
      await jest.advanceTimersByTimeAsync(499);
      expect(settled).toBeUndefined(); // the blackhole never answers; only the timeout can end the attempt
      await jest.advanceTimersByTimeAsync(1);
      await connecting;
      expect(settled).toMatch(/^rejected: .*timeout/i);
      expect(bh.accepted).toBe(1);
    } finally {
      jest.useRealTimers();
      await bh.close();
    }
  });

  it('unusedPort refuses connections', async () => {
    const port = await unusedPort();
    const c = new Client({ host: '127.0.0.1', port, user: 'x', password: 'y', database: 'z', connectionTimeoutMillis: 2000 });
    c.on('error', () => undefined);
    await expect(c.connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
