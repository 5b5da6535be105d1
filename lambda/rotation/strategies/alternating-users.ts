import type { DatabaseSecret } from '../../core/database-secret';
import { RotationError, configurationError, conflictError } from '../../core/errors';
import { masterCredentialFor } from '../master-credential';
import type { RotationContext } from '../rotation-context';
import type { RotationStrategy } from './strategy';
import type { EarlyCredential } from '../version-cache';

const SUFFIX = '_clone';

/** `name` <-> `name_clone`. */
export function alternateUsername(username: string): string {
  return username.endsWith(SUFFIX) ? username.slice(0, -SUFFIX.length) : `${username}${SUFFIX}`;
}

export function baseUsername(username: string): string {
  return username.endsWith(SUFFIX) ? username.slice(0, -SUFFIX.length) : username;
}

/** Whose credential the master login uses, in a TLS floor refusal. */
const MASTER = 'the master secret (or the user\'s secret)';

/**
 * A master credential maintains two users, `name` and `name_clone`; each
 * rotation sets the password of the one not in use and makes its privileges
 * equal to the current one's, so the current credential keeps working.
 */
export class AlternatingUsersStrategy implements RotationStrategy {
  readonly name = 'alternating-users';
  readonly mayDiffer = ['username'] as const;

  /** The master credential of the step (read and checked once per step). */
  private master(current: DatabaseSecret, ctx: RotationContext): Promise<DatabaseSecret> {
    return ctx.once('master credential', () => masterCredentialFor(current, ctx));
  }

  /** The master credential resolves, is on the same server, and its TLS mode is allowed. */
  async preflight(current: DatabaseSecret, ctx: RotationContext): Promise<void> {
    if (!current.masterarn) return; // nextCredential explains
    ctx.tlsModeFor(await this.master(current, ctx), MASTER);
  }

  /**
   * setSecret logs in as AWSCURRENT (the probe) and as the master at the same time; createSecret
   * checked both. The master session is warmed for syncAlternateUser.
   */
  async setSecretLogins(ctx: RotationContext): Promise<EarlyCredential[]> {
    const current = (await ctx.current()).secret;
    return [{ secret: current }, { secret: await this.master(current, ctx), whose: MASTER, warm: true }];
  }

  async nextCredential(current: DatabaseSecret, password: string, ctx: RotationContext): Promise<DatabaseSecret> {
    if (!current.masterarn) {
      throw configurationError(
        'the secret has no "masterarn" field, which the alternating-users strategy needs',
        'Add "masterarn" (the ARN of the master secret) to the secret, or use the single-user strategy.',
      );
    }
    const username = alternateUsername(current.username);
    const engine = ctx.engine(current);
    const max = engine.maxUsernameLength(current.engine);
    if (engine.usernameLength(username) > max) {
      throw configurationError(
        `the alternate user name would be ${engine.usernameLength(username)} long; ${current.engine} allows at most ${max}`,
        `Use a base user name of at most ${max - SUFFIX.length} ${engine.family === 'postgres' ? 'bytes' : 'characters'}.`,
      );
    }
    return { ...current, username, password };
  }

  async setSecret(ctx: RotationContext): Promise<void> {
    const current = (await ctx.current()).secret;
    const pending = await ctx.pending();
    this.validatePending(current, pending, ctx);
    const master = await this.master(current, ctx);

    // The current user must log in before anything changes. The master logs in at the same
    // time (a login changes nothing, and both go to the same checked server): one login's
    // latency instead of two. The current user's failure is reported first, as before.
    // (Both as promises: a refusal before connecting, e.g. too little time left, rejects too.)
    const [probed, adminLogin] = await Promise.allSettled([
      ctx.tryLogin(current, 'AWSCURRENT'),
      (async () => ctx.login(master, MASTER))(),
    ]);
    const probe = probed.status === 'fulfilled' ? probed.value : undefined;
    // Closed while the admin session works; awaited before the step ends.
    const probeClosed = probe?.close().catch(() => undefined);
    if (!probe) {
      if (adminLogin.status === 'fulfilled') await adminLogin.value.close();
      if (probed.status === 'rejected') throw probed.reason;
      throw new RotationError({
        category: 'authentication',
        code: 'CurrentDoesNotLogIn',
        message: `AWSCURRENT (${current.username}) does not log in`,
        action: 'Fix the AWSCURRENT credential first (its password was changed outside rotation); nothing was changed.',
      });
    }
    if (adminLogin.status === 'rejected') {
      await probeClosed;
      throw adminLogin.reason;
    }
    const admin = adminLogin.value;
    try {
      await admin.syncAlternateUser({
        target: pending.username,
        source: current.username,
        baseUser: baseUsername(current.username),
        password: pending.password,
      });
    } finally {
      await Promise.all([admin.close(), probeClosed]);
    }
    ctx.logger.info('alternate user set', { user: pending.username });
  }

  validatePending(current: DatabaseSecret, pending: DatabaseSecret, ctx: RotationContext): void {
    ctx.assertSameTarget(current, pending, 'AWSPENDING', this.mayDiffer);
    if (pending.username !== alternateUsername(current.username)) {
      throw conflictError(
        'the AWSPENDING user is not the alternate of the AWSCURRENT user',
        'Refusing to change another user. Remove AWSPENDING from this version and rotate again.',
      );
    }
  }
}
