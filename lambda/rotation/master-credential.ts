import { parseDatabaseSecret, type DatabaseSecret } from '../core/database-secret';
import { configurationError, conflictError } from '../core/errors';
import { AWSCURRENT } from '../core/secret-store';
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
  const stored = await ctx.storeFor(user.masterarn).get(AWSCURRENT);
  if (!stored) {
    throw configurationError('the master secret named by "masterarn" has no AWSCURRENT value', 'Store the master credential in that secret, then rotate again.');
  }
  const master = parseDatabaseSecret(stored.secretString, 'AWSCURRENT (master secret)');
  if (master.host !== user.host || master.port !== user.port) {
    throw conflictError(
      `the master secret points at ${master.host}:${master.port}, not at the user's server ${user.host}:${user.port}`,
      'Refusing to use a master credential of another server. Fix "masterarn" or the master secret\'s host/port.',
    );
  }
  if (ctx.engine(master).family !== ctx.engine(user).family) {
    throw conflictError(`the master secret's engine "${master.engine}" does not match the user's "${user.engine}"`, 'Fix "masterarn" to name the master secret of this database.');
  }
  // The admin works in the user's database (PostgreSQL ownership is per database).
  return { ...master, dbname: user.dbname ?? master.dbname, ssl: user.ssl ?? master.ssl };
}
