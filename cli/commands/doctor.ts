import { promises as dns } from 'node:dns';
import * as net from 'node:net';
import Table from 'cli-table3';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  type DescribeSecretCommandOutput,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { engineFamily, parseDatabaseSecret, type DatabaseSecret, type TlsMode } from '../../lambda/core/database-secret';
import { isRotationError, RotationError } from '../../lambda/core/errors';
import { AWSCURRENT, AWSPENDING, errorName } from '../../lambda/core/secret-store';
import { engineFor } from '../../lambda/rotation/engines';
import { masterLogin } from '../../lambda/rotation/master-credential';
import { ROTATED_TARGET_TAG, targetChangedError, targetFingerprint } from '../../lambda/rotation/rotated-target';
import { effectiveTlsMode } from '../../lambda/core/tls-policy';
// grants.ts, not engines/mysql: that one loads mysql2, which a PostgreSQL check never needs.
import { parseGrantLine } from '../../lambda/rotation/engines/mysql/grants';
import * as explain from '../../lambda/rotation/engines/explanations';
import { sqlString } from '../../lambda/rotation/engines/explanations';
import type { ConnectionSettings, DatabaseSession } from '../../lambda/rotation/engines/engine';
import type { PgRoleRow } from '../../lambda/rotation/engines/postgres';
import { explainAwsError, rdsClient, secretsManagerClient, type AwsOptions } from '../lib/aws';
import { sessionQuery, tlsFloor } from '../lib/engine-session';
import { colourOn, describeError, paint, printJson, tableStyle, type Colour } from '../lib/output';
import { STRATEGY_TAG } from './status';

export const STRATEGIES = ['single-user', 'alternating-users', 'rds-master'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface DoctorOptions extends AwsOptions {
  secret: string;
  caFile?: string;
  tlsMode?: TlsMode;
  strategy?: Strategy;
  timeout: number;
  json?: boolean;
}

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';
export interface Check {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

const COLOURS: Record<CheckStatus, Colour> = { ok: 'green', warn: 'yellow', fail: 'red', skip: 'grey' };

/** `rotor doctor <secret>`: a checklist, each failure with its fix. Returns the exit code. */
export async function runDoctor(opts: DoctorOptions): Promise<number> {
  const client = secretsManagerClient(opts);
  let checks: Check[];
  let strategy: Strategy | undefined;
  try {
    ({ checks, strategy } = await diagnose(client, opts));
  } finally {
    client.destroy();
  }
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  if (opts.json) {
    printJson({ secret: opts.secret, strategy, ok: failed === 0, checks });
  } else {
    const on = colourOn();
    const t = new Table({ head: ['check', 'result', 'detail / fix'], style: tableStyle(on), colWidths: [null, null, 90] as never, wordWrap: true });
    for (const c of checks) t.push([c.title, paint(c.status, COLOURS[c.status], on), c.fix ? `${c.detail}\nfix: ${c.fix}` : c.detail]);
    process.stdout.write(`${t.toString()}\n`);
    process.stdout.write(failed === 0
      ? `${opts.secret}: healthy${warned ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''}\n`
      : `${opts.secret}: ${failed} check${failed === 1 ? '' : 's'} failed${warned ? `, ${warned} warning${warned === 1 ? '' : 's'}` : ''}\n`);
  }
  return failed === 0 ? 0 : 1;
}

export async function diagnose(client: SecretsManagerClient, opts: DoctorOptions): Promise<{ checks: Check[]; strategy?: Strategy }> {
  const checks: Check[] = [];
  const add = (c: Check) => {
    checks.push(c);
    return c;
  };
  const skipRest = (ids: Array<[string, string]>, why: string) => ids.forEach(([id, title]) => add({ id, title, status: 'skip', detail: why }));
  const DB_CHECKS: Array<[string, string]> = [['network', 'DNS and TCP reach'], ['tls', 'TLS handshake and certificate'], ['login', 'login with AWSCURRENT'], ['privilege', 'privilege for the strategy']];
  const quoted = shellQuote(opts.secret);

  // 1. The secret itself.
  let d: DescribeSecretCommandOutput;
  try {
    d = await client.send(new DescribeSecretCommand({ SecretId: opts.secret }));
  } catch (e) {
    add({
      id: 'secret', title: 'secret exists', status: 'fail', detail: `DescribeSecret failed: ${errorName(e) ?? describeError(e)}`,
      fix: errorName(e) === 'ResourceNotFoundException' ? 'Check the name/ARN, the account and the Region (--region, --profile, --endpoint-url)' : 'Check credentials and secretsmanager:DescribeSecret permission',
    });
    return { checks };
  }
  const name = d.Name ?? opts.secret;
  if (d.DeletedDate) {
    add({ id: 'secret', title: 'secret exists', status: 'fail', detail: `scheduled for deletion on ${d.DeletedDate.toISOString()}`, fix: `aws secretsmanager restore-secret --secret-id ${quoted}` });
    return { checks };
  }
  add({ id: 'secret', title: 'secret exists', status: 'ok', detail: d.ARN ?? name });

  // 2. Rotation configuration.
  const rules = d.RotationRules;
  const schedule = rules?.ScheduleExpression ?? (rules?.AutomaticallyAfterDays !== undefined ? `every ${rules.AutomaticallyAfterDays} days` : undefined);
  if (d.RotationEnabled !== true || !d.RotationLambdaARN) {
    add({
      id: 'rotation', title: 'rotation configured', status: 'fail',
      detail: d.RotationLambdaARN ? `rotation is turned off (function ${d.RotationLambdaARN})` : 'no rotation function is configured',
      fix: `aws secretsmanager rotate-secret --secret-id ${quoted} --rotation-lambda-arn ${d.RotationLambdaARN ?? '<rotation function ARN>'} --rotation-rules '{"AutomaticallyAfterDays":30}' (or deploy it with the CDK app's DatabaseRotation)`,
    });
  } else {
    const days = rules?.AutomaticallyAfterDays;
    const insane = days !== undefined && (days < 1 || days > 365);
    const overdue = d.NextRotationDate !== undefined && d.NextRotationDate.getTime() < Date.now();
    add({
      id: 'rotation', title: 'rotation configured', status: insane || overdue ? 'warn' : 'ok',
      detail: `function ${d.RotationLambdaARN}; schedule ${schedule ?? '(none)'}${rules?.Duration ? ` in a ${rules.Duration} window` : ''}; next ${d.NextRotationDate?.toISOString() ?? '-'}${overdue ? ' (overdue)' : ''}`,
      fix: overdue ? `the last scheduled rotation did not complete: rotor rotate ${quoted} --wait` : insane ? 'rotate at least once a year: set AutomaticallyAfterDays between 1 and 365' : undefined,
    });
  }

  // 3. Versions: a stuck AWSPENDING blocks every later rotation.
  const versions = d.VersionIdsToStages ?? {};
  const current = Object.keys(versions).find((id) => versions[id]?.includes(AWSCURRENT));
  const pending = Object.keys(versions).find((id) => versions[id]?.includes(AWSPENDING));
  if (pending !== undefined && pending !== current) {
    add({
      id: 'versions', title: 'versions (AWSCURRENT / AWSPENDING)', status: 'fail',
      detail: `AWSPENDING is on version ${pending}, AWSCURRENT on ${current ?? '(none)'}: a rotation did not finish, and Secrets Manager refuses new rotations until AWSPENDING is removed. If a rotation is running right now, wait for it instead.`,
      fix: `if AWSCURRENT logs in (see the login check): aws secretsmanager update-secret-version-stage --secret-id ${quoted} --version-stage AWSPENDING --remove-from-version-id ${pending}`,
    });
  } else {
    add({ id: 'versions', title: 'versions (AWSCURRENT / AWSPENDING)', status: current ? 'ok' : 'fail', detail: current ? `AWSCURRENT on ${current}; no rotation pending` : 'no version has AWSCURRENT', fix: current ? undefined : `aws secretsmanager put-secret-value --secret-id ${quoted} --secret-string file://secret.json` });
  }

  // 4. The value: valid for its engine.
  let secret: DatabaseSecret;
  try {
    const v = await client.send(new GetSecretValueCommand({ SecretId: d.ARN ?? opts.secret, VersionStage: AWSCURRENT }));
    secret = parseDatabaseSecret(v.SecretString, AWSCURRENT);
    add({ id: 'value', title: 'secret JSON valid for its engine', status: 'ok', detail: `${secret.engine}: ${secret.username} at ${secret.host}:${secret.port}${secret.dbname ? `/${secret.dbname}` : ''}` });
  } catch (e) {
    const re = isRotationError(e) ? e : undefined;
    add({ id: 'value', title: 'secret JSON valid for its engine', status: 'fail', detail: re ? re.detail : `GetSecretValue failed: ${errorName(e) ?? describeError(e)}`, fix: re ? re.action : 'Grant secretsmanager:GetSecretValue (and kms:Decrypt on its key) to the caller' });
    skipRest([['strategy', 'strategy'], ...DB_CHECKS], 'needs a valid AWSCURRENT value');
    return { checks };
  }

  // 5. Strategy.
  const tagged = d.Tags?.find((t) => t.Key === STRATEGY_TAG)?.Value;
  const strategy: Strategy = opts.strategy
    ?? ((STRATEGIES as readonly string[]).includes(tagged ?? '') ? (tagged as Strategy)
      : secret.masterarn ? 'alternating-users' : 'single-user');
  const how = opts.strategy ? '--strategy' : tagged ? `tag ${STRATEGY_TAG}` : secret.masterarn ? 'the secret has masterarn' : 'default (no masterarn, no tag)';
  if (strategy === 'alternating-users' && !secret.masterarn) {
    add({ id: 'strategy', title: 'strategy', status: 'fail', detail: 'alternating-users needs "masterarn" in the secret', fix: 'Add "masterarn" (the master secret\'s ARN) to the secret JSON' });
  } else if (strategy === 'rds-master' && !secret.dbInstanceIdentifier && !secret.dbClusterIdentifier) {
    add({ id: 'strategy', title: 'strategy', status: 'fail', detail: 'rds-master needs "dbInstanceIdentifier" or "dbClusterIdentifier" in the secret', fix: 'Add the instance or cluster identifier to the secret JSON' });
  } else {
    add({ id: 'strategy', title: 'strategy', status: 'ok', detail: `${strategy} (from ${how})` });
  }

  // The same rule as the function: the deployment's floor, which a secret may raise but not lower.
  const floor: TlsMode = tlsFloor(opts.tlsMode);
  let tlsMode: TlsMode;
  try {
    tlsMode = effectiveTlsMode(secret.ssl, floor);
  } catch (e) {
    const re = e as RotationError;
    add({ id: 'tls', title: 'TLS handshake and certificate', status: 'fail', detail: re.detail, fix: re.action });
    skipRest(DB_CHECKS.filter(([id]) => id !== 'tls'), 'no login below the TLS floor');
    return { checks, strategy };
  }
  const settings: ConnectionSettings = { tlsMode, caFile: opts.caFile ?? process.env.ROTOR_TLS_CA_FILE, connectTimeoutMs: opts.timeout, statementTimeoutMs: opts.timeout };

  // The target the last rotation recorded: a rewritten AWSCURRENT is refused by the function.
  const recorded = d.Tags?.find((t) => t.Key === ROTATED_TARGET_TAG)?.Value;
  if (recorded !== undefined && recorded !== targetFingerprint(secret, strategy === 'alternating-users' ? ['username'] : [])) {
    const re = targetChangedError() as RotationError;
    add({ id: 'target', title: 'same target as the last rotation', status: 'fail', detail: re.detail, fix: re.action });
  } else {
    add({ id: 'target', title: 'same target as the last rotation', status: 'ok', detail: recorded === undefined ? `not recorded yet (the next rotation records it in the ${ROTATED_TARGET_TAG} tag)` : `matches the ${ROTATED_TARGET_TAG} tag` });
  }

  // 6. DNS and TCP.
  const reach = await reachable(secret.host, secret.port, opts.timeout);
  add({ id: 'network', title: 'DNS and TCP reach', ...reach });
  if (reach.status === 'fail') {
    skipRest(DB_CHECKS.slice(1), `${secret.host}:${secret.port} is not reachable`);
    await rdsCheck(opts, secret, strategy, add);
    return { checks, strategy };
  }

  // 7-8. TLS and login (TLS is negotiated inside the database protocol, before authentication).
  const tlsTitle = 'TLS handshake and certificate';
  let session: DatabaseSession | undefined;
  let barred: RotationError | undefined;
  try {
    session = await engineFor(secret.engine).connect(secret, settings);
    add({ id: 'tls', title: tlsTitle, status: tlsMode === 'verify-full' ? 'ok' : 'warn', detail: tlsDetail(tlsMode, settings.caFile), fix: tlsMode === 'verify-full' ? undefined : 'use "ssl": "verify-full" in the secret (rotation never falls back to plaintext, but an unverified server can be impersonated)' });
    add({ id: 'login', title: 'login with AWSCURRENT', status: 'ok', detail: `logged in as ${await session.sessionUser()}` });
  } catch (e) {
    const re = e instanceof RotationError ? e : undefined;
    if (re?.category === 'tls') {
      add({ id: 'tls', title: tlsTitle, status: 'fail', detail: `${re.detail} (code ${re.code}; CA bundle: ${settings.caFile ?? "Node's trust store"})`, fix: re.action });
      add({ id: 'login', title: 'login with AWSCURRENT', status: 'skip', detail: 'TLS failed first' });
    } else {
      barred = re !== undefined && explain.isLoginBarred(re) ? re : undefined;
      add({ id: 'tls', title: tlsTitle, status: re?.category === 'authentication' || re?.category === 'permission' ? 'ok' : 'skip', detail: re?.category === 'authentication' || barred ? tlsDetail(tlsMode, settings.caFile) : 'not reached' });
      add({ id: 'login', title: 'login with AWSCURRENT', status: 'fail', detail: re ? `${re.detail}${re.code ? ` (code ${re.code})` : ''}` : describeError(e), fix: re?.action ?? 'check the database log' });
    }
  }

  // A stuck AWSPENDING while AWSCURRENT is refused: setSecret probably set AWSPENDING's password
  // before the rotation failed, so AWSPENDING may be the only working credential. Removing it would
  // lock everyone out; finishing the rotation is the repair.
  const versionsCheck = checks.find((c) => c.id === 'versions');
  const loginCheck = checks.find((c) => c.id === 'login');
  if (versionsCheck?.status === 'fail' && pending !== undefined && pending !== current && current !== undefined && loginCheck?.status === 'fail' && !barred) {
    versionsCheck.detail += ' AWSCURRENT does not log in: the failed rotation probably already changed the password to the AWSPENDING value, which may now be the only working credential. Do not remove AWSPENDING.';
    versionsCheck.fix = `check that the AWSPENDING value logs in, then finish the rotation: aws secretsmanager update-secret-version-stage --secret-id ${quoted} --version-stage AWSCURRENT --move-to-version-id ${pending} --remove-from-version-id ${current}`;
  }

  // 9. The privilege the strategy needs.
  try {
    if (barred && strategy !== 'rds-master') add({ id: 'privilege', title: 'privilege for the strategy', status: 'fail', detail: `${secret.username} may not log in (see the login check), so it cannot change its own password and no rotated password would work`, fix: barred.action });
    else if (!session) add({ id: 'privilege', title: 'privilege for the strategy', status: 'skip', detail: 'no session' });
    else if (strategy === 'single-user') add(await ownPasswordCheck(secret, session));
    else if (strategy === 'alternating-users') add(await masterCheck(client, secret, settings, floor));
    else add({ id: 'privilege', title: 'privilege for the strategy', status: 'ok', detail: 'rds-master changes the password through the RDS API (ModifyDB*), not SQL' });
  } finally {
    await session?.close().catch(() => undefined);
  }
  await rdsCheck(opts, secret, strategy, add);
  return { checks, strategy };
}

function tlsDetail(mode: TlsMode, caFile?: string): string {
  if (mode === 'verify-full') return `verify-full: certificate verified against ${caFile ?? "Node's trust store"} and the host name`;
  return mode === 'require' ? 'require: encrypted, certificate NOT verified' : 'disable: plaintext connection';
}

async function reachable(host: string, port: number, timeoutMs: number): Promise<Omit<Check, 'id' | 'title'>> {
  let address: string;
  try {
    address = net.isIP(host) ? host : (await dns.lookup(host)).address;
  } catch (e) {
    return { status: 'fail', detail: `DNS lookup of ${host} failed (${errorName(e) ?? describeError(e)})`, fix: explain.dnsFailed() };
  }
  const t0 = Date.now();
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (r: Omit<Check, 'id' | 'title'>) => {
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(timeoutMs, () => done({
      status: 'fail', detail: `no answer from ${host} (${address}) port ${port} within ${timeoutMs} ms`,
      fix: explain.noAnswer(timeoutMs),
    }));
    socket.once('connect', () => done({ status: 'ok', detail: `${host} -> ${address}; port ${port} open (${Date.now() - t0} ms)` }));
    socket.once('error', (e: NodeJS.ErrnoException) => done({
      status: 'fail', detail: `TCP connect to ${host} (${address}) port ${port} failed: ${e.code ?? e.message}`,
      fix: e.code === 'ECONNREFUSED' ? explain.connectionRefused() : explain.unreachable(timeoutMs),
    }));
  });
}

async function ownPasswordCheck(secret: DatabaseSecret, session: DatabaseSession): Promise<Check> {
  const title = 'privilege for the strategy';
  if (engineFamily(secret.engine) === 'postgres') {
    const rows = await sessionQuery(session, 'SELECT rolname, rolcanlogin, rolvaliduntil FROM pg_roles WHERE rolname = current_user');
    const r = rows[0];
    if (!r) return { id: 'privilege', title, status: 'fail', detail: 'the session user is not in pg_roles', fix: 'check the role' };
    const until = r.rolvaliduntil instanceof Date ? r.rolvaliduntil : undefined;
    if (until && until.getTime() < Date.now() + 30 * 86_400_000) {
      return { id: 'privilege', title, status: 'warn', detail: `role ${String(r.rolname)} has VALID UNTIL ${until.toISOString()}`, fix: `ALTER ROLE ${String(r.rolname)} VALID UNTIL 'infinity' (rotation does not extend it)` };
    }
    return { id: 'privilege', title, status: 'ok', detail: `single-user: ${String(r.rolname)} may change its own password (ALTER ROLE on itself needs no privilege)` };
  }
  const rows = await sessionQuery(session, 'SELECT CURRENT_USER() AS u, @@GLOBAL.read_only AS ro');
  if (Number(rows[0]?.ro) === 1) {
    return { id: 'privilege', title, status: 'fail', detail: 'the server is read-only (read_only = ON)', fix: explain.readOnlyServer() };
  }
  // The function's own check (MysqlSession.checkOwnHostEntries): other host entries of the user would keep the old password.
  try {
    await (session as unknown as { checkOwnHostEntries?: () => Promise<void> }).checkOwnHostEntries?.();
  } catch (e) {
    if (isRotationError(e)) return { id: 'privilege', title, status: 'fail', detail: e.detail, fix: e.action };
    throw e;
  }
  return { id: 'privilege', title, status: 'ok', detail: `single-user: ${String(rows[0]?.u)} may change its own password (SET PASSWORD / ALTER USER CURRENT_USER() needs no privilege)` };
}

/** Alternating users: the master must be able to create users and pass on privileges. */
async function masterCheck(client: SecretsManagerClient, secret: DatabaseSecret, userSettings: ConnectionSettings, floor: TlsMode): Promise<Check> {
  const title = 'privilege for the strategy (master)';
  let master: DatabaseSecret;
  try {
    const v = await client.send(new GetSecretValueCommand({ SecretId: secret.masterarn! }));
    const raw = JSON.parse(v.SecretString ?? 'null') as Record<string, unknown> | null;
    if (raw && raw.host === undefined && raw.engine === undefined) {
      return { id: 'privilege', title, status: 'skip', detail: 'the master secret is RDS-managed (username/password only); locating its database needs RDS access, which this check does not use' };
    }
    master = parseDatabaseSecret(v.SecretString, `${AWSCURRENT} (master)`);
  } catch (e) {
    const re = isRotationError(e) ? e : undefined;
    return { id: 'privilege', title, status: 'fail', detail: re ? re.detail : `the master secret could not be read: ${errorName(e) ?? describeError(e)}`, fix: re?.action ?? 'check "masterarn" and GetSecretValue permission on the master secret' };
  }
  // The function's rule (master-credential.ts): only on the user's server, with the stronger TLS mode of the two secrets.
  let login: DatabaseSecret;
  let settings: ConnectionSettings;
  try {
    login = masterLogin(secret, master, engineFamily(master.engine), engineFamily(secret.engine));
    settings = { ...userSettings, tlsMode: effectiveTlsMode(login.ssl, floor, "the master secret (or the user's secret)") };
  } catch (e) {
    const re = e as RotationError;
    return { id: 'privilege', title, status: 'fail', detail: re.detail, fix: re.action };
  }
  let session: DatabaseSession;
  try {
    session = await engineFor(master.engine).connect(login, settings);
  } catch (e) {
    const re = isRotationError(e) ? e : undefined;
    return { id: 'privilege', title, status: 'fail', detail: `master ${master.username} cannot log in: ${re?.detail ?? describeError(e)}`, fix: re?.action ?? 'fix the master secret' };
  }
  try {
    if (engineFamily(master.engine) === 'postgres') return await pgMasterCheck(session, secret, title);
    return await mysqlMasterCheck(session, secret, master, title);
  } catch (e) {
    return { id: 'privilege', title, status: 'fail', detail: `could not read the master's privileges: ${isRotationError(e) ? e.detail : describeError(e)}`, fix: 'check the master user' };
  } finally {
    await session.close().catch(() => undefined);
  }
}

/**
 * PostgreSQL: what PostgresSession.syncAlternateUser refuses before it changes anything
 * (pgMasterProblems, the same rule and the same explanations): a master without CREATEROLE, base or
 * alternate users with SUPERUSER / REPLICATION / BYPASSRLS under a master that is no superuser,
 * and from PostgreSQL 16 on roles the master holds no ADMIN OPTION on.
 */
async function pgMasterCheck(session: DatabaseSession, secret: DatabaseSecret, title: string): Promise<Check> {
  // postgres.ts loads `pg` only in connect(); the session already did.
  const { PG_ROLES_SQL, pgMasterProblems, pgRolesOf } = require('../../lambda/rotation/engines/postgres') as typeof import('../../lambda/rotation/engines/postgres');
  const base = secret.username.endsWith('_clone') ? secret.username.slice(0, -'_clone'.length) : secret.username;
  const roles = pgRolesOf(await sessionQuery(session, PG_ROLES_SQL, [base, `${base}_clone`]) as unknown as PgRoleRow[]);
  const m = roles.master.rolname;
  const problems = pgMasterProblems(roles, base, `${base}_clone`);
  if (problems.length > 0) return { id: 'privilege', title, status: 'fail', detail: `master ${m}: ${problems.map((p) => p.why).join('; ')}`, fix: problems.map((p) => p.action).join(' ') };
  if (roles.master.rolsuper) return { id: 'privilege', title, status: 'ok', detail: `master ${m} has SUPERUSER` };
  return { id: 'privilege', title, status: 'ok', detail: `master ${m} has CREATEROLE${roles.master.version >= 160000 ? ` and ADMIN OPTION on ${base}` : ''}` };
}

/**
 * MySQL/MariaDB: what MysqlSession.syncAlternateUser runs as the master: CREATE USER / DROP USER /
 * ALTER USER (CREATE USER), SHOW GRANTS FOR and mysql.user (SELECT on mysql), on MariaDB
 * SET PASSWORD FOR another user (UPDATE on mysql), and GRANT of every privilege the current user
 * holds (the privilege itself and GRANT OPTION).
 */
async function mysqlMasterCheck(session: DatabaseSession, secret: DatabaseSecret, master: DatabaseSecret, title: string): Promise<Check> {
  const [me] = await sessionQuery(session, "SELECT CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''') AS g, SUBSTRING_INDEX(CURRENT_USER(), '@', -1) AS h, VERSION() AS v");
  const grantee = String(me.g);
  const account = `${sqlString(master.username)}@${sqlString(String(me.h))}`;
  const global = await sessionQuery(session, 'SELECT PRIVILEGE_TYPE AS p, IS_GRANTABLE AS g FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?', [grantee]);
  const createUser = global.some((r) => r.p === 'CREATE USER');
  const grantOption = global.some((r) => r.g === 'YES');
  if (!createUser || !grantOption) {
    const missing = [!createUser && 'CREATE USER', !grantOption && 'GRANT OPTION'].filter(Boolean).join(' and ');
    return { id: 'privilege', title, status: 'fail', detail: `master ${master.username} lacks ${missing}`, fix: `GRANT CREATE USER ON *.* TO ${account} WITH GRANT OPTION; (plus every privilege ${secret.username} holds)` };
  }
  const schema = await sessionQuery(session, 'SELECT TABLE_SCHEMA AS s, PRIVILEGE_TYPE AS p FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ?', [grantee]);
  const table = await sessionQuery(session, 'SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, PRIVILEGE_TYPE AS p FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ?', [grantee]);
  const has = (p: string, db?: string, tbl?: string) => global.some((r) => r.p === p)
    || (db !== undefined && schema.some((r) => r.s === db && r.p === p))
    || (db !== undefined && tbl !== undefined && table.some((r) => r.s === db && r.t === tbl && r.p === p));

  const mariadb = /mariadb/i.test(String(me.v));
  const mysqlSchema = ['SELECT', ...(mariadb ? ['UPDATE'] : [])].filter((p) => !has(p, 'mysql'));
  if (mysqlSchema.length > 0) {
    const why = [
      mysqlSchema.includes('SELECT') && 'SELECT: SHOW GRANTS FOR and mysql.user read the current user',
      mysqlSchema.includes('UPDATE') && 'UPDATE: MariaDB runs SET PASSWORD FOR an existing alternate user',
    ].filter(Boolean).join('; ');
    return { id: 'privilege', title, status: 'fail', detail: `master ${master.username} lacks ${mysqlSchema.join(' and ')} on the mysql schema (${why})`, fix: `GRANT ${mysqlSchema.join(', ')} ON mysql.* TO ${account};` };
  }

  // Every privilege the current user holds must be the master's to grant (GRANT OPTION is global, checked above).
  const missing: string[] = [];
  const unchecked: string[] = [];
  const ident = '`((?:[^`]|``)*)`';
  const dbLevel = new RegExp(`^${ident}\\.\\*$`);
  const tableLevel = new RegExp(`^${ident}\\.${ident}$`);
  const unquote = (x?: string) => x?.replace(/``/g, '`');
  const hosts = await sessionQuery(session, 'SELECT Host AS h FROM mysql.user WHERE User = ?', [secret.username]);
  for (const { h } of hosts) {
    for (const row of await sessionQuery(session, 'SHOW GRANTS FOR ?@?', [secret.username, String(h)])) {
      let line: ReturnType<typeof parseGrantLine>;
      try {
        line = parseGrantLine(String(Object.values(row)[0] ?? ''), { user: secret.username, host: String(h) });
      } catch {
        unchecked.push('a grant line of an unknown shape');
        continue;
      }
      if (!line) continue;
      const on = line.what.indexOf(' ON ');
      const privs = on > 0 ? line.what.slice(0, on).split(', ') : [];
      const level = on > 0 ? line.what.slice(on + 4) : '';
      const db = dbLevel.exec(level);
      const tbl = tableLevel.exec(level);
      if (line.kind !== 'privileges' || privs.some((p) => p.includes('(') || p === 'ALL PRIVILEGES') || !(level === '*.*' || db || tbl)) {
        unchecked.push(`${line.what}${line.kind === 'role' ? ' (a role: the master needs it WITH ADMIN OPTION)' : ''}`);
        continue;
      }
      const lacking = privs.filter((p) => !has(p, unquote(db?.[1] ?? tbl?.[1]), unquote(tbl?.[2])));
      if (lacking.length > 0) missing.push(`${lacking.join(', ')} ON ${level}`);
    }
  }
  if (missing.length > 0) {
    return {
      id: 'privilege', title, status: 'fail',
      detail: `master ${master.username} cannot pass on what ${secret.username} holds: it lacks ${missing.join('; ')}`,
      fix: missing.map((m) => `GRANT ${m} TO ${account};`).join(' '),
    };
  }
  const summary = `master ${master.username} has CREATE USER WITH GRANT OPTION, ${mariadb ? 'SELECT and UPDATE' : 'SELECT'} on mysql.* and every privilege ${secret.username} holds`;
  if (unchecked.length > 0) {
    return { id: 'privilege', title, status: 'warn', detail: `${summary}, except what doctor cannot check: ${unchecked.join('; ')}`, fix: 'make sure the master may grant these (roles WITH ADMIN OPTION, proxy grants WITH GRANT OPTION, ALL PRIVILEGES: all of them)' };
  }
  return { id: 'privilege', title, status: 'ok', detail: summary };
}

/** rds-master: instance/cluster state and RDS-managed passwords, through the RDS API when it is reachable. */
async function rdsCheck(opts: DoctorOptions, secret: DatabaseSecret, strategy: Strategy, add: (c: Check) => void): Promise<void> {
  if (strategy !== 'rds-master') return;
  const title = 'RDS instance/cluster';
  const kind = secret.dbClusterIdentifier ? 'cluster' : 'instance';
  const id = secret.dbClusterIdentifier ?? secret.dbInstanceIdentifier;
  if (!id) return;
  try {
    const { RdsDirectory } = require('../../lambda/core/rds-directory') as typeof import('../../lambda/core/rds-directory');
    const rds = rdsClient(opts);
    try {
      const db = await new RdsDirectory(rds).describe(kind, id);
      if (db.managedMasterPassword) {
        add({ id: 'rds', title, status: 'fail', detail: `${kind} ${id}: RDS manages its master password in Secrets Manager`, fix: `do not rotate it with rotor; or turn RDS management off (aws rds modify-db-${kind} --db-${kind}-identifier ${id} --no-manage-master-user-password --master-user-password ...)` });
      } else {
        add({ id: 'rds', title, status: db.status === 'available' ? 'ok' : 'warn', detail: `${kind} ${id}: ${db.status}, master user ${db.masterUsername ?? '?'}`, fix: db.status === 'available' ? undefined : 'wait until the status is available' });
      }
    } finally {
      rds.destroy();
    }
  } catch (e) {
    const why = isRotationError(e) ? `${e.code ?? e.category}: ${e.detail}` : explainAwsError(e, opts) ?? `${errorName(e) ?? 'error'}: ${describeError(e)}`;
    add({ id: 'rds', title, status: 'skip', detail: `skipped: no RDS access (${why})` });
  }
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\/+=.@:-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
