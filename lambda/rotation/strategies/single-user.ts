import { RotationError } from '../../core/errors';
import type { DatabaseSecret } from '../../core/database-secret';
import type { DatabaseSession } from '../engines/engine';
import type { RotationContext } from '../rotation-context';
import type { RotationStrategy } from './strategy';
import type { EarlyCredential } from '../version-cache';

/**
 * The user changes its own password. If AWSCURRENT no longer logs in, either
 * an earlier attempt already set the pending password (done), or the previous
 * password is tried, as AWS's reference functions do.
 */
export class SingleUserStrategy implements RotationStrategy {
  readonly name = 'single-user';
  readonly mayDiffer = [] as const;

  validatePending(current: DatabaseSecret, pending: DatabaseSecret, ctx: RotationContext): void {
    ctx.assertSameTarget(current, pending, 'AWSPENDING', this.mayDiffer);
  }

  async nextCredential(current: DatabaseSecret, password: string): Promise<DatabaseSecret> {
    return { ...current, password };
  }

  /** setSecret logs in with AWSCURRENT first. */
  async setSecretLogins(ctx: RotationContext): Promise<EarlyCredential[]> {
    return [{ secret: (await ctx.current()).secret }];
  }

  async setSecret(ctx: RotationContext): Promise<void> {
    const current = await ctx.current();
    const pending = await ctx.pending();
    this.validatePending(current.secret, pending, ctx);

    // AWSCURRENT first: on the usual path it logs in and the pending password
    // cannot (one user has one password), which saves a refused login. Only
    // when it fails may an earlier attempt have set the pending password already.
    let session: DatabaseSession | undefined = await ctx.tryLogin(current.secret, 'AWSCURRENT');
    if (session && current.secret.password === pending.password) {
      await session.close();
      return;
    }
    if (!session) {
      const already = await ctx.tryLogin(pending, 'AWSPENDING');
      if (already) {
        await already.close();
        ctx.logger.info('AWSPENDING already logs in; nothing to set');
        return;
      }
      const previous = await ctx.previous();
      if (previous) {
        ctx.assertSameTarget(current.secret, previous.secret, 'AWSPREVIOUS', this.mayDiffer);
        session = await ctx.tryLogin(previous.secret, 'AWSPREVIOUS');
        if (session) ctx.logger.info('logged in with AWSPREVIOUS (AWSCURRENT no longer valid)');
      }
    }
    if (!session) {
      throw new RotationError({
        category: 'authentication',
        code: 'NoWorkingCredential',
        message: `neither AWSPENDING, AWSCURRENT nor AWSPREVIOUS logs in as ${current.secret.username}@${current.secret.host}:${current.secret.port}`,
        action: 'The database password was changed outside rotation. Set it back, or store the working password as a new AWSCURRENT version (PutSecretValue), then rotate again.',
      });
    }
    try {
      await session.setPassword(pending.username, pending.password);
    } finally {
      await session.close();
    }
    ctx.logger.info('password changed in the database');
  }
}
