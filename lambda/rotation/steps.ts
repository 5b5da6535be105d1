import { conflictError, configurationError } from '../core/errors';
import { serializeDatabaseSecret, type DatabaseSecret } from '../core/database-secret';
import { AWSCURRENT, AWSPENDING } from '../core/secret-store';
import type { RotationContext } from './rotation-context';
import { generatePassword } from '../core/password-generator';
import type { RotationStrategy } from './strategies/strategy';
import type { RotationStep } from '../core/errors';

/** SecretString quota: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html */
const MAX_SECRET_STRING = 65536;

/** What a step did, for the log and metrics. */
export type StepOutcome = 'done' | 'already-done' | 'nothing-to-do';

/**
 * The Secrets Manager contract checks every step starts with (the ones AWS's
 * reference functions make). Returns 'nothing-to-do' when the token is
 * already AWSCURRENT: a retried or late step after the rotation finished.
 */
export function checkContract(ctx: RotationContext): 'proceed' | 'nothing-to-do' {
  const meta = ctx.metadata;
  if (meta.rotationEnabled === false) {
    throw configurationError(
      'rotation is disabled for this secret',
      'Turn rotation on (RotateSecret with a rotation function, or `rotor` CDK constructs) before invoking the function.',
    );
  }
  const stages = meta.versions[ctx.token];
  if (!stages) {
    throw conflictError(
      `version ${ctx.token} is not a version of this secret`,
      'The event names a ClientRequestToken that is not a labelled version of the secret; start a new rotation with RotateSecret.',
    );
  }
  if (stages.includes(AWSCURRENT)) return 'nothing-to-do';
  if (!stages.includes(AWSPENDING)) {
    throw conflictError(
      `version ${ctx.token} is not AWSPENDING`,
      'The rotation for this token was cancelled or superseded; start a new rotation with RotateSecret.',
    );
  }
  return 'proceed';
}

/**
 * An AWSPENDING value is only acted on when it points at the current target
 * as the strategy allows (invariant 3) and holds a password the function's
 * policy could have made.
 */
function validatePending(ctx: RotationContext, strategy: RotationStrategy, current: DatabaseSecret, pending: DatabaseSecret): void {
  strategy.validatePending(current, pending, ctx);
  ctx.assertPolicyPassword(pending);
  if (pending.password === current.password) {
    // A "rotation" that keeps the password would report success and change nothing.
    throw conflictError(
      'the AWSPENDING password equals the AWSCURRENT password',
      `The rotation function did not write it. Remove the AWSPENDING label from version ${ctx.token} (rotor doctor shows how), check who wrote it, and rotate again. Nothing was changed.`,
      'PendingPasswordUnchanged',
    );
  }
}

/** The four steps, written once; the strategy and engine are the plug-ins. */
export async function runStep(step: RotationStep, ctx: RotationContext, strategy: RotationStrategy): Promise<StepOutcome> {
  switch (step) {
    case 'createSecret':
      return createSecret(ctx, strategy);
    case 'setSecret': {
      const current = (await ctx.current()).secret;
      ctx.assertCurrentAcceptable(current, strategy.mayDiffer);
      validatePending(ctx, strategy, current, await ctx.pending());
      await strategy.setSecret(ctx);
      return 'done';
    }
    case 'testSecret':
      return testSecret(ctx, strategy);
    case 'finishSecret':
      return finishSecret(ctx, strategy);
  }
}

async function createSecret(ctx: RotationContext, strategy: RotationStrategy): Promise<StepOutcome> {
  const current = await ctx.current();
  // Everything that would make setSecret refuse is refused here, before a
  // value is written: a refusal then leaves no AWSPENDING value behind.
  ctx.assertCurrentAcceptable(current.secret, strategy.mayDiffer);
  const existing = await ctx.pendingOrUndefined();
  if (existing) {
    validatePending(ctx, strategy, current.secret, existing);
    // A retried createSecret finds its own value; so does one that runs after
    // someone else filled the version. Both meet the policy and the target.
    ctx.logger.warn('AWSPENDING already held a value when createSecret ran (a retried createSecret, or written by another principal); it meets the password policy and names the same target, so it is kept');
    ctx.count('PendingValueKept');
    return 'already-done';
  }
  const engine = ctx.engine(current.secret);
  const password = generatePassword(ctx.config.password, engine.defaultExcludedCharacters);
  await strategy.preflight?.(current.secret, ctx);
  const pending = await strategy.nextCredential(current.secret, password, ctx);
  const value = serializeDatabaseSecret(pending);
  if (value.length > MAX_SECRET_STRING) {
    throw configurationError(
      `the new AWSPENDING value would be ${value.length} characters, over the Secrets Manager limit of ${MAX_SECRET_STRING}`,
      'Remove unneeded fields from the secret JSON so that a longer password still fits, then rotate again.',
    );
  }
  await ctx.putPending(value);
  return 'done';
}

async function testSecret(ctx: RotationContext, strategy: RotationStrategy): Promise<StepOutcome> {
  const current = await ctx.current();
  ctx.assertCurrentAcceptable(current.secret, strategy.mayDiffer);
  const maybePending = await ctx.pendingOrUndefined();
  if (!maybePending) {
    // RotateImmediately=false: Secrets Manager runs only testSecret, against
    // an AWSPENDING version without a value, to test the configuration
    // (API_RotateSecret). What can be tested is that AWSCURRENT is valid
    // and reachable with the configured TLS settings.
    const session = await ctx.login(current.secret);
    await session.close();
    ctx.logger.info('configuration test: AWSCURRENT logs in');
    return 'done';
  }
  const pending = maybePending;
  validatePending(ctx, strategy, current.secret, pending);
  const session = await ctx.login(pending);
  try {
    // Reading the session user is the probe query.
    const user = await session.sessionUser();
    if (user !== pending.username) {
      throw conflictError(
        `the AWSPENDING credential logs in as a different user than "username" says`,
        'Check the username in the secret and any login-mapping in the database (e.g. pg_ident.conf).',
      );
    }
  } finally {
    await session.close();
  }
  ctx.rememberProvenTarget(pending, strategy.mayDiffer);
  return 'done';
}

async function finishSecret(ctx: RotationContext, strategy: RotationStrategy): Promise<StepOutcome> {
  const currentVersion = ctx.currentVersionId();
  // Finished by an earlier attempt (checkContract answers 'nothing-to-do' before this step runs; kept
  // for a direct call).
  if (currentVersion === ctx.token) return 'already-done';
  // Never promote a version testSecret could not have passed: one without a
  // value, or one that points elsewhere (invariant 3) - the step may be
  // invoked directly, out of order.
  const current = (await ctx.current()).secret;
  ctx.assertCurrentAcceptable(current, strategy.mayDiffer);
  const pending = await ctx.pending();
  validatePending(ctx, strategy, current, pending);
  // Recorded before the labels move: if the tag cannot be written the
  // rotation stops with nothing promoted, and a retry writes the same value.
  // (After testSecret passed in this container the write was started with
  // DescribeSecret, for the target testSecret proved; it is awaited here.)
  await ctx.recordTarget(pending, strategy.mayDiffer);
  await ctx.promote(currentVersion);
  return 'done';
}
