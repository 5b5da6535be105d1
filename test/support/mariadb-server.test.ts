import * as fs from 'node:fs';
import * as net from 'node:net';
import { inspect } from 'node:util';
import mysql from 'mysql2/promise';
import { freePort } from './free-port';
import { canLoginMariadb, MariadbServer, startMariadb } from './mariadb-server';

describe('startMariadb (no TLS)', () => {
  let db: MariadbServer;

  beforeAll(async () => {
    const t0 = Date.now();
    db = await startMariadb();
    console.log(`mariadb (plain, incl. template bootstrap if first in this worker) ready in ${Date.now() - t0} ms on port ${db.port}`);
    const t1 = Date.now();
    const second = await startMariadb();
    console.log(`mariadb (plain, from template) ready in ${Date.now() - t1} ms`);
    await second.stop();
  });
  afterAll(async () => {
    await db?.stop();
  });

  it('exposes connection facts and no connection string', () => {
    expect(db.host).toBe('127.0.0.1');
    expect(db.port).toBeGreaterThan(0);
    expect(db.port).not.toBe(3306);
    expect(db.database).toBe('appdb');
    expect(db.superuser.username).toBe('rotor_admin');
    expect(db.superuser.password.length).toBeGreaterThanOrEqual(20);
    expect(db.caFile).toBeUndefined();
    expect(db.connectionString).toBeUndefined();
    expect(fs.existsSync(db.dataDir)).toBe(true);
    expect(db.pid).toBeGreaterThan(0);
    expect(inspect(db)).not.toContain(db.superuser.password);
    expect(inspect(db.superuser)).not.toContain(db.superuser.password);
    expect(JSON.stringify(db)).not.toContain(db.superuser.password);
  });

  it('runs MariaDB with a password-authenticated admin that holds every privilege', async () => {
    const r = await db.query('SELECT VERSION() AS v, CURRENT_USER() AS u, DATABASE() AS d');
    expect(r.rows[0]).toEqual({ v: db.version, u: 'rotor_admin@%', d: 'appdb' });
    expect(db.version).toMatch(/MariaDB/);
    const grants = await db.query('SHOW GRANTS');
    expect(JSON.stringify(grants.rows)).toMatch(/ALL PRIVILEGES ON \*\.\* TO `rotor_admin`@`%`.*WITH GRANT OPTION/);
  });

  it('has no root account reachable over TCP, logs statements, and keeps the harness\'s statements out of its logs', async () => {
    const accounts = await db.query("SELECT Host AS host FROM mysql.user WHERE User = 'root'");
    expect(accounts.rows).toEqual([{ host: 'localhost' }]);
    await expect(canLoginMariadb(db, 'root', '')).resolves.toBe(false);
    const logs = await db.query("SELECT @@general_log AS g, @@slow_query_log AS s");
    expect(logs.rows[0]).toMatchObject({ g: 1, s: 0 });
    expect(fs.readFileSync(db.logFile, 'utf8')).not.toContain(db.superuser.password);
    expect(fs.readFileSync(db.generalLogFile, 'utf8')).not.toContain(db.superuser.password);
  });

  it('accepts the right password and rejects a wrong one', async () => {
    await expect(canLoginMariadb(db, db.superuser.username, db.superuser.password)).resolves.toBe(true);
    await expect(canLoginMariadb(db, db.superuser.username, db.superuser.password + 'x')).resolves.toBe(false);
    await expect(canLoginMariadb(db, 'no_such_user', 'whatever')).resolves.toBe(false);
  });

  it('canLoginMariadb rethrows errors other than access denied', async () => {
    await expect(canLoginMariadb({ ...db, database: 'no_such_db' }, db.superuser.username, db.superuser.password)).rejects.toMatchObject({ errno: 1049 });
    await expect(canLoginMariadb(db, db.superuser.username, db.superuser.password, { ssl: 'require' })).rejects.toMatchObject({
      code: 'HANDSHAKE_NO_SSL_SUPPORT',
    });
  });

  it('can create login users as fixtures, with placeholders', async () => {
    await db.query('CREATE USER ?@? IDENTIFIED BY ?', ['app_user', '%', 'app-pass-1']);
    await db.query('GRANT SELECT ON appdb.* TO ?@?', ['app_user', '%']);
    await expect(canLoginMariadb(db, 'app_user', 'app-pass-1')).resolves.toBe(true);
    await expect(canLoginMariadb(db, 'app_user', 'nope')).resolves.toBe(false);
    const r = await db.query('CREATE TABLE t (id INT)');
    expect(r.rows).toEqual([]);
  });

  it('pause stops the server and resume brings it back on the same port with its data', async () => {
    const port = db.port;
    const held = await mysql.createConnection({ host: db.host, port: db.port, user: db.superuser.username, password: db.superuser.password });
    held.on('error', () => undefined);

    const t0 = Date.now();
    await db.pause();
    const pauseMs = Date.now() - t0;
    expect(db.pid).toBeUndefined();
    await expect(canLoginMariadb(db, db.superuser.username, db.superuser.password)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(held.query('SELECT 1')).rejects.toThrow();
    held.destroy();

    const t1 = Date.now();
    await db.resume();
    console.log(`mariadb pause ${pauseMs} ms, resume ${Date.now() - t1} ms`);
    expect(db.port).toBe(port);
    expect(db.pid).toBeGreaterThan(0);
    await expect(canLoginMariadb(db, db.superuser.username, db.superuser.password)).resolves.toBe(true);
    await expect(canLoginMariadb(db, 'app_user', 'app-pass-1')).resolves.toBe(true);
  });
});

describe('startMariadb (TLS)', () => {
  let db: MariadbServer;
  let strict: MariadbServer;

  beforeAll(async () => {
    const t0 = Date.now();
    [db, strict] = await Promise.all([startMariadb({ tls: true }), startMariadb({ requireTls: true })]);
    console.log(`mariadb (tls + requireTls, in parallel) ready in ${Date.now() - t0} ms`);
  });
  afterAll(async () => {
    await Promise.all([db?.stop(), strict?.stop()]);
  });

  it('has CA files and distinct servers', () => {
    expect(db.caFile && fs.existsSync(db.caFile)).toBeTruthy();
    expect(db.otherCaFile && fs.existsSync(db.otherCaFile)).toBeTruthy();
    expect(db.port).not.toBe(strict.port);
    expect(db.superuser.password).not.toBe(strict.superuser.password);
  });

  it('query() uses verified TLS', async () => {
    const r = await db.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
    expect(String(r.rows[0].Value)).not.toBe('');
  });

  it('verify-full works with the right CA and fails with an unrelated one', async () => {
    const su = db.superuser;
    await expect(canLoginMariadb(db, su.username, su.password)).resolves.toBe(true);
    await expect(canLoginMariadb(db, su.username, 'wrong')).resolves.toBe(false);
    await expect(canLoginMariadb({ ...db, caFile: db.otherCaFile }, su.username, su.password)).rejects.toMatchObject({
      code: 'HANDSHAKE_SSL_ERROR',
      message: expect.stringMatching(/certificate/),
    });
  });

  it('require and disable work on a server that does not insist on TLS', async () => {
    const su = db.superuser;
    await expect(canLoginMariadb(db, su.username, su.password, { ssl: 'require' })).resolves.toBe(true);
    await expect(canLoginMariadb(db, su.username, su.password, { ssl: 'disable' })).resolves.toBe(true);
  });

  it('requireTls rejects plaintext logins (access denied) and accepts TLS ones', async () => {
    const su = strict.superuser;
    expect((await strict.query('SELECT @@require_secure_transport AS r')).rows[0].r).toBe(1);
    await expect(canLoginMariadb(strict, su.username, su.password, { ssl: 'disable' })).resolves.toBe(false);
    await expect(canLoginMariadb(strict, su.username, su.password)).resolves.toBe(true);
  });

  it('stop removes the temp dir and is idempotent', async () => {
    const extra = await startMariadb({ tls: true });
    const dir = extra.dataDir;
    const pid = extra.pid!;
    expect(fs.existsSync(dir)).toBe(true);
    await extra.stop();
    await extra.stop();
    expect(fs.existsSync(dir)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('startMariadb robustness', () => {
  it('retries on another port when the chosen one is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', () => res()));
    const taken = (blocker.address() as net.AddressInfo).port;
    const picks: number[] = [];
    const db = await startMariadb({
      pickPort: async () => {
        const p = picks.length === 0 ? taken : await freePort();
        picks.push(p);
        return p;
      },
    });
    try {
      expect(picks.length).toBe(2);
      expect(db.port).toBe(picks[1]);
      await expect(canLoginMariadb(db, db.superuser.username, db.superuser.password)).resolves.toBe(true);
    } finally {
      await db.stop();
      await new Promise<void>((res) => blocker.close(() => res()));
    }
  });
});
