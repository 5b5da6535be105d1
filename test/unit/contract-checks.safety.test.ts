import { checkContract, runStep } from '../../lambda/rotation/steps';
import { parseDatabaseSecret } from '../../lambda/core/database-secret';
import type { RotationStrategy } from '../../lambda/rotation/strategies/strategy';
import type { RotationContext } from '../../lambda/rotation/rotation-context';
import { RotationError } from '../../lambda/core/errors';

/**
 * The Secrets Manager contract checks every step starts with
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html):
 * rotation on, the token a labelled version, AWSCURRENT means done, else it must be AWSPENDING.
 * checkContract reads only the secret's metadata and the event's token.
 */
function ctx(versions: Record<string, string[]>, rotationEnabled: boolean | undefined = true, token = 'tok'): RotationContext {
  return { metadata: { arn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:s', name: 's', rotationEnabled, versions, tags: {} }, token } as unknown as RotationContext;
}

function refusal(c: RotationContext): RotationError {
  try {
    checkContract(c);
  } catch (e) {
    if (e instanceof RotationError) return e;
    throw e;
  }
  throw new Error('checkContract accepted the event');
}

describe('checkContract', () => {
  test('a token labelled AWSPENDING (and not AWSCURRENT) proceeds', () => {
    expect(checkContract(ctx({ tok: ['AWSPENDING'], old: ['AWSCURRENT'] }))).toBe('proceed');
  });

  test('rotation never configured (rotationEnabled undefined) is not a refusal', () => {
    expect(checkContract(ctx({ tok: ['AWSPENDING'], old: ['AWSCURRENT'] }, undefined))).toBe('proceed');
  });

  test('a token already AWSCURRENT has nothing to do, even if it still carries AWSPENDING', () => {
    expect(checkContract(ctx({ tok: ['AWSCURRENT'] }))).toBe('nothing-to-do');
    expect(checkContract(ctx({ tok: ['AWSPENDING', 'AWSCURRENT'] }))).toBe('nothing-to-do');
  });

  test('rotation turned off: a configuration error that says to turn it on', () => {
    const e = refusal(ctx({ tok: ['AWSPENDING'] }, false));
    expect(e.category).toBe('configuration');
    expect(e.message).toMatch(/rotation is disabled for this secret/);
    expect(e.action).toMatch(/Turn rotation on/);
  });

  test('rotation turned off is refused before the token is even looked at', () => {
    expect(refusal(ctx({ tok: ['AWSCURRENT'] }, false)).category).toBe('configuration');
  });

  test('a token that is not a labelled version: a conflict naming the token', () => {
    const e = refusal(ctx({ other: ['AWSPENDING'] }));
    expect(e.category).toBe('conflict');
    expect(e.message).toMatch(/version tok is not a version of this secret/);
    expect(e.action).toMatch(/start a new rotation with RotateSecret/);
  });

  test('a labelled version that is neither AWSCURRENT nor AWSPENDING: a conflict (cancelled or superseded)', () => {
    for (const stages of [['AWSPREVIOUS'], [], ['custom']]) {
      const e = refusal(ctx({ tok: stages, cur: ['AWSCURRENT'] }));
      expect(e.category).toBe('conflict');
      expect(e.message).toMatch(/version tok is not AWSPENDING/);
      expect(e.action).toMatch(/cancelled or superseded/);
    }
  });
});

/**
 * setSecret acts on AWSPENDING only after the strategy accepted it as the same
 * target, the policy could have made its password, and the password differs
 * from AWSCURRENT's (a "rotation" that keeps the password changes nothing).
 */
describe('setSecret: the checks on AWSPENDING before the database is touched', () => {
  const secret = (password: string) => parseDatabaseSecret(JSON.stringify({ engine: 'postgres', host: 'h', username: 'app', password }), 'x');
  function run(current: string, pending: string, opts: { strategyRefuses?: boolean; policyRefuses?: boolean } = {}) {
    const order: string[] = [];
    const setSecret = jest.fn(async () => { order.push('setSecret'); });
    const strategy = {
      mayDiffer: [],
      validatePending: () => { order.push('validatePending'); if (opts.strategyRefuses) throw new RotationError({ category: 'conflict', message: 'other target', action: 'x' }); },
      setSecret,
    } as unknown as RotationStrategy;
    const c = {
      token: 'tok',
      current: async () => ({ versionId: 'cur', secret: secret(current) }),
      assertCurrentAcceptable: () => { order.push('current'); },
      pending: async () => secret(pending),
      assertPolicyPassword: () => { order.push('policy'); if (opts.policyRefuses) throw new RotationError({ category: 'configuration', message: 'policy', action: 'x' }); },
    } as unknown as RotationContext;
    return { order, setSecret, result: runStep('setSecret', c, strategy) };
  }

  test('a new password for the same target: set', async () => {
    const r = run('Old-Pa55word', 'New-Pa55word');
    await expect(r.result).resolves.toBe('done');
    expect(r.order).toEqual(['current', 'validatePending', 'policy', 'setSecret']);
  });

  test('AWSPENDING holding the AWSCURRENT password: a conflict (PendingPasswordUnchanged), the database is not touched', async () => {
    const r = run('Same-Pa55word', 'Same-Pa55word');
    const e = await r.result.then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(RotationError);
    expect(e).toMatchObject({ category: 'conflict', code: 'PendingPasswordUnchanged' });
    expect((e as RotationError).detail).toBe('the AWSPENDING password equals the AWSCURRENT password');
    expect((e as RotationError).action).toMatch(/Remove the AWSPENDING label from version tok .* Nothing was changed\.$/);
    expect(r.setSecret).not.toHaveBeenCalled();
  });

  test('a refusal by the strategy or the policy stops before the database', async () => {
    for (const opts of [{ strategyRefuses: true }, { policyRefuses: true }]) {
      const r = run('Old-Pa55word', 'New-Pa55word', opts);
      await expect(r.result).rejects.toBeInstanceOf(RotationError);
      expect(r.setSecret).not.toHaveBeenCalled();
    }
  });
});
