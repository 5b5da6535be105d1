import { existsSync, readFileSync } from 'node:fs';
import { Client } from 'pg';
import { startDemoDatabase } from './demo-database';

/** A throwaway database with TLS and password auth, for the demo and the benchmarks. */
export interface DemoServer {
  engine: 'postgres' | 'mariadb';
  host: string;
  port: number;
  dbname: string;
  caFile: string;
  admin: { username: string; password: string };
  createUser(name: string, password: string): Promise<void>;
  /** true/false for accepted/refused; other errors throw. */
  canLogin(user: string, password: string): Promise<boolean>;
  /** Whether a session of this user runs over TLS (verified against the CA). */
  tlsInUse(user: string, password: string): Promise<boolean>;
  /** Logs in as `as`, sets `target`'s password to `next` (its own or, as an admin, another's), logs in as `target` with it. */
  changePasswordAndLogin(as: { user: string; password: string }, target: string, next: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the demo database for an engine: embedded PostgreSQL, or MariaDB from the installed binaries. */
export function startDemoServer(engine: 'postgres' | 'mariadb', say: (line: string) => void = () => undefined): Promise<DemoServer> {
  return engine === 'postgres' ? postgresServer(say) : mariadbServer();
}

async function postgresServer(say: (line: string) => void): Promise<DemoServer> {
  const db = await startDemoDatabase(say);
  const ca = readFileSync(db.caFile, 'utf8');
  const connect = async (user: string, password: string) => {
    const c = new Client({ host: db.host, port: db.port, user, password, database: 'postgres', ssl: { ca, rejectUnauthorized: true }, connectionTimeoutMillis: 5000 });
    await c.connect();
    return c;
  };
  return {
    engine: 'postgres', host: db.host, port: db.port, dbname: 'postgres', caFile: db.caFile, admin: db.admin,
    async createUser(name, password) {
      const c = await connect(db.admin.username, db.admin.password);
      try {
        await c.query(`CREATE ROLE ${c.escapeIdentifier(name)} LOGIN PASSWORD ${c.escapeLiteral(password)}`);
        await c.query(`GRANT CREATE ON SCHEMA public TO ${c.escapeIdentifier(name)}`);
      } finally {
        await c.end();
      }
    },
    async canLogin(user, password) {
      try {
        await (await connect(user, password)).end();
        return true;
      } catch (e) {
        if ((e as { code?: string }).code === '28P01') return false;
        throw e;
      }
    },
    async tlsInUse(user, password) {
      const c = await connect(user, password);
      try {
        // Client side: the socket is TLS and its certificate chain was verified.
        // (pg_stat_ssl would hide the row from a clone acting as its base role.)
        const socket = (c as unknown as { connection: { stream: { authorized?: boolean; getProtocol?: () => string | null } } }).connection.stream;
        return typeof socket.getProtocol === 'function' && Boolean(socket.getProtocol()) && socket.authorized === true;
      } finally {
        await c.end();
      }
    },
    async changePasswordAndLogin(as, target, next) {
      const c = await connect(as.user, as.password);
      try {
        await c.query(`ALTER ROLE ${c.escapeIdentifier(target)} WITH PASSWORD ${c.escapeLiteral(next)}`);
      } finally {
        await c.end();
      }
      await (await connect(target, next)).end();
    },
    stop: () => db.stop(),
  };
}

async function mariadbServer(): Promise<DemoServer> {
  const { startMariadb, canLoginMariadb, MARIADBD } = require('./mariadb-server') as typeof import('./mariadb-server');
  if (!existsSync(MARIADBD)) {
    throw new Error(`MariaDB is not installed (no ${MARIADBD}${process.env.ROTOR_MARIADBD ? ', from ROTOR_MARIADBD' : ''}). On Debian/Ubuntu: apt-get install -y --no-install-recommends mariadb-server; elsewhere set ROTOR_MARIADBD to the mariadbd binary.`);
  }
  const mysql = require('mysql2/promise') as typeof import('mysql2/promise');
  const db = await startMariadb({ tls: true });
  const caFile = db.caFile!;
  const host = 'localhost';
  const ca = readFileSync(caFile, 'utf8');
  const login = (user: string, password: string) =>
    mysql.createConnection({ host, port: db.port, user, password, database: db.database, ssl: { ca, rejectUnauthorized: true } });
  return {
    engine: 'mariadb', host, port: db.port, dbname: db.database, caFile, admin: db.superuser,
    async createUser(name, password) {
      await db.query('CREATE USER ?@? IDENTIFIED BY ?', [name, '%', password]);
      await db.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${mysql.escapeId(db.database)}.* TO ?@?`, [name, '%']);
    },
    canLogin: (user, password) => canLoginMariadb({ ...db, host }, user, password, { ssl: 'verify-full' }),
    async changePasswordAndLogin(as, target, next) {
      const c = await login(as.user, as.password);
      try {
        if (as.user === target) await c.query('SET PASSWORD = PASSWORD(?)', [next]);
        else await c.query('SET PASSWORD FOR ?@? = PASSWORD(?)', [target, '%', next]);
      } finally {
        await c.end();
      }
      await (await login(target, next)).end();
    },
    async tlsInUse(user, password) {
      const c = await login(user, password);
      try {
        const [rows] = await c.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
        return String((rows as Array<{ Value?: string }>)[0]?.Value ?? '') !== '';
      } finally {
        await c.end();
      }
    },
    stop: () => db.stop(),
  };
}
