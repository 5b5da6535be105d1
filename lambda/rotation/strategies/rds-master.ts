import type { DatabaseSecret } from '../../core/database-secret';
import { RotationError, configurationError, conflictError } from '../../core/errors';
import type { RdsDatabase, RdsResourceKind } from '../../core/rds-directory';
import type { RotationContext } from '../rotation-context';
import type { RotationStrategy } from './strategy';

/** RDS master password limits (API_ModifyDBInstance, MasterUserPassword). */
const MAX_LENGTH = { postgres: 128, mysql: 41 } as const;
const RDS_FORBIDDEN = /[/"@ ]/;

/**
 * The master password is changed through the RDS API (ModifyDBInstance /
 * ModifyDBCluster), not SQL; then the function waits until the new password
 * logs in and the database is `available` again, within the Lambda deadline.
 * A retried setSecret that finds the change under way only waits.
 */
export class RdsMasterStrategy implements RotationStrategy {
  readonly name = 'rds-master';
  readonly mayDiffer = [] as const;

  validatePending(current: DatabaseSecret, pending: DatabaseSecret, ctx: RotationContext): void {
    ctx.assertSameTarget(current, pending, 'AWSPENDING', this.mayDiffer);
  }

  /**
   * What setSecret would refuse about the database (RDS-managed password,
   * another master user or endpoint) is refused in createSecret, before an
   * AWSPENDING value exists. One RDS Describe call; no Secrets Manager call.
   */
  async preflight(current: DatabaseSecret, ctx: RotationContext): Promise<void> {
    const { kind, identifier } = deployedResourceOf(current, ctx);
    this.assertSameDatabase(current, await ctx.rds().describe(kind, identifier));
  }

  async nextCredential(current: DatabaseSecret, password: string, ctx: RotationContext): Promise<DatabaseSecret> {
    deployedResourceOf(current, ctx);
    const max = MAX_LENGTH[ctx.engine(current).family];
    if (password.length < 8 || password.length > max || RDS_FORBIDDEN.test(password)) {
      throw configurationError(
        `the password policy makes passwords RDS does not accept as a master password (8-${max} characters, no / " @ or space)`,
        `Set ROTOR_PASSWORD_LENGTH to at most ${max} and keep / " @ in ROTOR_EXCLUDE_CHARACTERS.`,
      );
    }
    return { ...current, password };
  }

  async setSecret(ctx: RotationContext): Promise<void> {
    const current = (await ctx.current()).secret;
    const pending = await ctx.pending();
    this.validatePending(current, pending, ctx);
    const { kind, identifier } = deployedResourceOf(current, ctx);

    const already = await ctx.tryLogin(pending, 'AWSPENDING');
    await already?.close();
    const db = await ctx.rds().describe(kind, identifier);
    this.assertSameDatabase(current, db);
    if (already && db.status === 'available') return;

    if (db.status !== 'resetting-master-credentials') {
      if (db.status !== 'available') {
        throw conflictError(`DB ${kind} ${identifier} is "${db.status}", not available`, 'Wait until it is available; Secrets Manager retries the rotation.');
      }
      await this.proveStoredCredential(ctx);
      await ctx.rds().setMasterPassword(kind, identifier, pending.password);
      ctx.logger.info('master password change requested from RDS', { kind, identifier });
    }
    await this.waitUntilInEffect(ctx, pending, kind, identifier);
  }

  /**
   * The trust rule every strategy keeps: a new password only goes to a target
   * on which a stored credential (AWSCURRENT, else AWSPREVIOUS on the same
   * target) has just logged in. Without it, whoever can rewrite AWSCURRENT
   * could have RDS reset a master password they never knew.
   */
  private async proveStoredCredential(ctx: RotationContext): Promise<void> {
    const current = (await ctx.current()).secret;
    let session = await ctx.tryLogin(current, 'AWSCURRENT');
    if (!session) {
      const previous = await ctx.previous();
      if (previous) {
        ctx.assertSameTarget(current, previous.secret, 'AWSPREVIOUS', this.mayDiffer);
        session = await ctx.tryLogin(previous.secret, 'AWSPREVIOUS');
      }
    }
    if (!session) {
      throw new RotationError({
        category: 'authentication',
        code: 'NoWorkingCredential',
        message: `neither AWSCURRENT nor AWSPREVIOUS logs in as ${current.username}@${current.host}:${current.port}`,
        action: 'rotor only resets a master password that a stored credential proves. If the master password was lost, reset it yourself (aws rds modify-db-instance --master-user-password ...), store it as AWSCURRENT (PutSecretValue), then rotate again. Nothing was changed.',
      });
    }
    await session.close();
  }

  private assertSameDatabase(secret: DatabaseSecret, db: RdsDatabase): void {
    if (db.managedMasterPassword) {
      throw configurationError(
        `DB ${db.kind} ${db.identifier} has RDS-managed master passwords turned on (ManageMasterUserPassword); RDS rotates that password itself`,
        'Do not rotate it with rotor: remove this rotation, or turn RDS management off (ModifyDBInstance --no-manage-master-user-password) first.',
      );
    }
    if (db.masterUsername === undefined || db.masterUsername !== secret.username) {
      throw conflictError(`the secret's user is not the master user of DB ${db.kind} ${db.identifier} (MasterUsername)`, 'Use the single-user or alternating-users strategy for users other than the master, or fix "username" in the secret.');
    }
    if (db.host === undefined || db.port === undefined) {
      throw conflictError(`DB ${db.kind} ${db.identifier} has no endpoint yet`, 'Wait until the database is available; Secrets Manager retries the rotation.');
    }
    if (db.host.toLowerCase() !== secret.host.toLowerCase() || db.port !== secret.port) {
      throw conflictError(
        `DB ${db.kind} ${db.identifier} has the endpoint ${db.host}:${db.port}, not the secret's ${secret.host}:${secret.port}`,
        'Refusing to change the master password of another database. Fix the identifier or host/port in the secret.',
      );
    }
  }

  /** Backoff from 250 ms up to 5 s until the new password logs in and the database is available. */
  private async waitUntilInEffect(ctx: RotationContext, pending: DatabaseSecret, kind: RdsResourceKind, identifier: string): Promise<void> {
    let delay = 250;
    for (;;) {
      const session = await ctx.tryLogin(pending, 'AWSPENDING');
      if (session) {
        await session.close();
        const db = await ctx.rds().describe(kind, identifier);
        if (db.status === 'available') {
          ctx.logger.info('master password in effect', { kind, identifier });
          return;
        }
      }
      const left = ctx.remainingMs() - ctx.config.deadlineMarginMs - ctx.config.connectTimeoutMs;
      if (left <= delay) {
        throw new RotationError({
          category: 'network', code: 'MasterPasswordNotYetInEffect',
          message: `RDS has not yet put the new master password of ${kind} ${identifier} into effect`,
          action: 'RDS is still applying it; Secrets Manager retries the rotation and setSecret will wait again. Raise the function timeout if this repeats.',
        });
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
}

/**
 * The secret's DB instance or cluster, if it is one this deployment was made
 * for (ROTOR_RDS_RESOURCE_ARNS, set by the CDK app from dbInstanceArn /
 * dbClusterArn). rds-master acts on nothing else, whatever the secret says.
 */
function deployedResourceOf(secret: DatabaseSecret, ctx: RotationContext): { kind: RdsResourceKind; identifier: string } {
  const r = resourceOf(secret);
  if (ctx.config.rdsResources.length === 0) {
    throw configurationError(
      'ROTOR_RDS_RESOURCE_ARNS is not set: the rds-master strategy acts only on the DB instances and clusters it was deployed for',
      'Name the instance (dbInstanceArn) or cluster (dbClusterArn) of this rotation in rotor.config.json or the DatabaseRotation construct and deploy again. Nothing was changed.',
      'RdsResourceNotDeployed',
    );
  }
  const allowed = ctx.config.rdsResources.some((a) =>
    a.kind === r.kind && a.identifier.toLowerCase() === r.identifier.toLowerCase() && (ctx.config.region === undefined || a.region === ctx.config.region));
  if (!allowed) {
    throw conflictError(
      `the secret names DB ${r.kind} ${r.identifier}, which is not one this rotation function was deployed for (ROTOR_RDS_RESOURCE_ARNS)`,
      'Refusing to change the master password of another database. If the secret was rewritten, restore its AWSCURRENT; if this database should be rotated, add its ARN to the rotation (dbInstanceArn / dbClusterArn) and deploy. Nothing was changed.',
      'RdsResourceNotDeployed',
    );
  }
  return r;
}

function resourceOf(secret: DatabaseSecret): { kind: RdsResourceKind; identifier: string } {
  if (secret.dbClusterIdentifier) return { kind: 'cluster', identifier: secret.dbClusterIdentifier };
  if (secret.dbInstanceIdentifier) return { kind: 'instance', identifier: secret.dbInstanceIdentifier };
  throw configurationError(
    'the secret names no RDS database: the rds-master strategy needs "dbInstanceIdentifier" or "dbClusterIdentifier"',
    'Add the identifier of the DB instance (or Aurora cluster) to the secret.',
  );
}
