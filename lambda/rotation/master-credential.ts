import { parseDatabaseSecret, type DatabaseSecret } from '../core/database-secret';
import { configurationError, conflictError } from '../core/errors';
import { AWSCURRENT } from '../core/secret-store';
import { parseRdsArn } from '../core/rds-arn';
import { strongerTls } from '../core/tls-policy';
import type { RotationContext } from './rotation-context';

/**
 * The admin credential for a user's secret: AWSCURRENT of the secret its
 * `masterarn` names, pointed at the same host, port and database as the user
 * (DESIGN invariant 3: a master on another server is refused).
 */
export async function masterCredentialFor(user: DatabaseSecret, ctx: RotationContext): Promise<DatabaseSecret> {
  if (!user.masterarn) {
    throw configurationError(
      'the secret has no "masterarn" field, which the alternating-users strategy needs',
      'Add "masterarn" (the ARN of the secret holding the master/admin credential) to the secret, or use the single-user strategy.',
    );
  }
  const stored = await ctx.currentOf(user.masterarn);
  if (!stored) {
    throw configurationError('the master secret named by "masterarn" has no AWSCURRENT value', 'Store the master credential in that secret, then rotate again.');
  }
  const master = isRdsManagedShape(stored.secretString)
    ? await resolveRdsManagedMaster(user, stored.secretString!, ctx)
    : parseDatabaseSecret(stored.secretString, 'AWSCURRENT (master secret)');
  return masterLogin(user, master, ctx.engine(master).family, ctx.engine(user).family);
}

/**
 * The credential the admin session logs in with: the master's user and
 * password, on the user's server only (DESIGN invariant 3: a master of
 * another server is refused), in the user's database (PostgreSQL ownership is
 * per database), with the stronger TLS mode of the two secrets (invariant 5:
 * the application secret can never weaken how the master password travels).
 * `rotor doctor` uses the same rule.
 */
export function masterLogin(user: DatabaseSecret, master: DatabaseSecret, masterFamily: string, userFamily: string): DatabaseSecret {
  if (master.host.toLowerCase() !== user.host.toLowerCase() || master.port !== user.port) {
    throw conflictError(
      `the master secret points at ${master.host}:${master.port}, not at the user's server ${user.host}:${user.port}`,
      'Refusing to use a master credential of another server. Fix "masterarn" or the master secret\'s host/port.',
    );
  }
  if (masterFamily !== userFamily) {
    throw conflictError(`the master secret's engine "${master.engine}" does not match the user's "${user.engine}"`, 'Fix "masterarn" to name the master secret of this database.');
  }
  return { ...master, dbname: user.dbname ?? master.dbname, ssl: strongerTls(user.ssl, master.ssl) };
}

/** RDS-managed master secrets (`rds!db-...`) hold only username and password. */
function isRdsManagedShape(secretString: string | undefined): boolean {
  try {
    const o = JSON.parse(secretString ?? '');
    return typeof o === 'object' && o !== null && !('engine' in o) && !('host' in o) && 'username' in o && 'password' in o;
  } catch {
    return false;
  }
}

/**
 * Finds the database of an RDS-managed master secret through its tags
 * (aws:rds:primarydbinstancearn / aws:rds:primarydbclusterarn) and
 * DescribeDBInstances / DescribeDBClusters.
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html
 */
async function resolveRdsManagedMaster(user: DatabaseSecret, secretString: string, ctx: RotationContext): Promise<DatabaseSecret> {
  const meta = await ctx.storeFor(user.masterarn!).describe();
  const arn = meta.tags['aws:rds:primarydbclusterarn'] ?? meta.tags['aws:rds:primarydbinstancearn'];
  const resource = arn ? parseRdsArn(arn) : undefined;
  if (!resource) {
    throw configurationError(
      'the master secret holds only username and password but has no aws:rds:primarydbinstancearn / aws:rds:primarydbclusterarn tag naming its database',
      'Point "masterarn" at the RDS-managed master secret of this database, or store engine, host and port in the master secret.',
    );
  }
  const db = await ctx.rds().describe(resource.kind, resource.identifier);
  if (!db.host || !db.port) {
    throw conflictError(`DB ${resource.kind} ${resource.identifier} has no endpoint yet`, 'Wait until the database is available, then rotate again.');
  }
  const userFamily = ctx.engine(user).family;
  const dbFamily = /postgres/.test(db.engine) ? 'postgres' : 'mysql';
  if (dbFamily !== userFamily) {
    throw conflictError(`the master secret's database runs ${db.engine}, not the user's ${user.engine}`, 'Fix "masterarn" to name the master secret of this database.');
  }
  const raw = JSON.parse(secretString) as { username?: unknown; password?: unknown };
  return parseDatabaseSecret(JSON.stringify({ engine: user.engine, host: db.host, port: db.port, username: raw.username, password: raw.password, dbname: user.dbname }), 'AWSCURRENT (RDS-managed master secret)');
}
