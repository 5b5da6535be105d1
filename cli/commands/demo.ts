import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import Table from 'cli-table3';
import { Client } from 'pg';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { LocalSecretsManager, localClientConfig } from '../../local';
import { startDemoDatabase } from '../../local/demo-database';

const BUNDLE = path.resolve(__dirname, '../../dist/rotation/index.js');
const APP_USER = 'demo_app';

export const DEMO_ENGINES = ['postgres', 'mariadb'] as const;
export const DEMO_STRATEGIES = ['single-user', 'alternating-users'] as const;
export interface DemoOptions {
  engine?: (typeof DEMO_ENGINES)[number];
  strategy?: (typeof DEMO_STRATEGIES)[number];
  keep?: boolean;
}

/** A throwaway database with TLS and password auth, as the demo needs it. */
interface DemoServer {
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
  stop(): Promise<void>;
}

/**
 * `rotor demo`: one real rotation on this machine. A throwaway database with
 * TLS and password auth (embedded PostgreSQL, or MariaDB from the installed
 * server binaries), the local Secrets Manager endpoint, and the bundled
 * rotation function in a child process, as Lambda would run it.
 * Returns the process exit code.
 */
export async function runDemo(opts: DemoOptions = {}): Promise<number> {
  const engine = opts.engine ?? 'postgres';
  const strategy = opts.strategy ?? 'single-user';
  const say = (line: string) => process.stdout.write(`${line}\n`);
  if (!existsSync(BUNDLE)) {
    say(`The rotation bundle ${path.relative(process.cwd(), BUNDLE)} is missing: run \`npm run build\` first (npm run demo does).`);
    return 2;
  }
  let db: DemoServer | undefined;
  let local: LocalSecretsManager | undefined;
  try {
    const t0 = Date.now();
    say(`1/5 starting ${engine === 'postgres' ? 'embedded PostgreSQL' : 'MariaDB'} (password auth, TLS on, throwaway CA)...`);
    db = engine === 'postgres' ? await postgresServer(say) : await mariadbServer();
    const oldPassword = randomBytes(18).toString('base64url');
    await db.createUser(APP_USER, oldPassword);
    say(`    ${engine} on ${db.host}:${db.port}; user ${APP_USER} created`);

    say('2/5 starting the local Secrets Manager endpoint...');
    local = await LocalSecretsManager.start({ port: 0 });
    const lambdaArn = local.lambdaArn('rotor-rotation');
    local.registerRotationFunction(lambdaArn, {
      kind: 'child-process',
      bundlePath: BUNDLE,
      env: { ROTOR_TLS_CA_FILE: db.caFile, ROTOR_STRATEGY: strategy, POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN' },
    });
    say(`    endpoint ${local.endpoint}; rotation function ${lambdaArn} (bundle in a child process, strategy ${strategy})`);

    const sm = new SecretsManagerClient(localClientConfig(local.endpoint, local.region));
    const base = { engine, host: db.host, port: db.port, dbname: db.dbname };
    let masterarn: string | undefined;
    if (strategy === 'alternating-users') {
      const master = await sm.send(new CreateSecretCommand({ Name: 'rotor-demo/master', SecretString: JSON.stringify({ ...base, username: db.admin.username, password: db.admin.password }) }));
      masterarn = master.ARN;
      say(`    master secret ${master.Name} (the admin that maintains ${APP_USER} and ${APP_USER}_clone)`);
    }
    const created = await sm.send(new CreateSecretCommand({
      Name: `rotor-demo/${APP_USER}`,
      SecretString: JSON.stringify({ ...base, username: APP_USER, password: oldPassword, ...(masterarn ? { masterarn } : {}) }),
    }));
    const secretArn = created.ARN!;
    say(`3/5 secret ${created.Name} created (TLS verify-full by default)`);
    const before = await versionTable(sm, secretArn);

    say('4/5 RotateSecret: Secrets Manager invokes createSecret, setSecret, testSecret, finishSecret...');
    const tRotate = Date.now();
    const rotation = await sm.send(new RotateSecretCommand({
      SecretId: secretArn, RotationLambdaARN: lambdaArn, RotationRules: { AutomaticallyAfterDays: 30 },
    }));
    const outcome = await local.waitForRotation(secretArn, { versionId: rotation.VersionId, timeoutMs: 60_000 });
    const rotateMs = Date.now() - tRotate;
    if (outcome.eventName !== 'RotationSucceeded') {
      say(`    rotation ended with ${outcome.eventName}${outcome.step ? ` in ${outcome.step}` : ''}: ${outcome.errorMessage ?? ''}`);
      return 1;
    }
    say(`    ${outcome.eventName} in ${rotateMs} ms`);

    const current = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString!);
    const after = await versionTable(sm, secretArn);
    const checks: Array<[string, boolean]> = [
      [`new credential (AWSCURRENT, ${current.username}) logs in`, await db.canLogin(current.username, current.password)],
      ['password changed', current.password !== oldPassword],
      ['connection used verified TLS', await db.tlsInUse(current.username, current.password)],
    ];
    if (strategy === 'single-user') {
      checks.push(['old password is refused', !(await db.canLogin(APP_USER, oldPassword))]);
    } else {
      checks.push([`user is now ${APP_USER}_clone`, current.username === `${APP_USER}_clone`]);
      checks.push([`previous credential (${APP_USER}) still logs in: no window`, await db.canLogin(APP_USER, oldPassword)]);
    }

    say('5/5 result');
    say('before:');
    say(before);
    say('after:');
    say(after);
    const t = new Table({ head: ['live check', 'result'], style: tableStyle() });
    for (const [name, ok] of checks) t.push([name, ok ? 'ok' : 'FAILED']);
    say(t.toString());
    const failed = checks.filter(([, ok]) => !ok).length;
    say(failed === 0 ? `demo passed in ${Date.now() - t0} ms` : `demo FAILED: ${failed} check(s) failed`);
    if (opts.keep) {
      say(`Keeping things running: AWS_ENDPOINT_URL_SECRETS_MANAGER=${local.endpoint}; Ctrl-C to stop.`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    return failed === 0 ? 0 : 1;
  } catch (e) {
    say(`demo FAILED: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    await local?.stop().catch(() => undefined);
    await db?.stop().catch(() => undefined);
  }
}

/** Colour only on a terminal, so piped output and logs stay plain text. */
function tableStyle() {
  return process.stdout.isTTY ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] };
}

async function versionTable(sm: SecretsManagerClient, secretId: string): Promise<string> {
  const out = await sm.send(new ListSecretVersionIdsCommand({ SecretId: secretId }));
  const t = new Table({ head: ['version', 'labels', 'created'], style: tableStyle() });
  for (const v of out.Versions ?? []) {
    t.push([v.VersionId ?? '', (v.VersionStages ?? []).join(', '), v.CreatedDate?.toISOString() ?? '']);
  }
  return t.toString();
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
    stop: () => db.stop(),
  };
}

async function mariadbServer(): Promise<DemoServer> {
  if (!existsSync('/usr/sbin/mariadbd')) {
    throw new Error('MariaDB is not installed (no /usr/sbin/mariadbd). On Debian/Ubuntu: apt-get install -y --no-install-recommends mariadb-server');
  }
  const { startMariadb, canLoginMariadb } = require('../../local/mariadb-server') as typeof import('../../local/mariadb-server');
  const mysql = require('mysql2/promise') as typeof import('mysql2/promise');
  const db = await startMariadb({ tls: true });
  const caFile = db.caFile!;
  const host = 'localhost';
  return {
    engine: 'mariadb', host, port: db.port, dbname: db.database, caFile, admin: db.superuser,
    async createUser(name, password) {
      await db.query('CREATE USER ?@? IDENTIFIED BY ?', [name, '%', password]);
      await db.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${mysql.escapeId(db.database)}.* TO ?@?`, [name, '%']);
    },
    canLogin: (user, password) => canLoginMariadb({ ...db, host }, user, password, { ssl: 'verify-full' }),
    async tlsInUse(user, password) {
      const c = await mysql.createConnection({ host, port: db.port, user, password, ssl: { ca: readFileSync(caFile, 'utf8'), rejectUnauthorized: true } });
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
