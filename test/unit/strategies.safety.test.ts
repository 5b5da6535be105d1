import type { DatabaseSecret } from '../../lambda/core/database-secret';
import type { RdsDatabase } from '../../lambda/core/rds-directory';
import { RotationError } from '../../lambda/core/errors';
import { MysqlEngine } from '../../lambda/rotation/engines/mysql';
import { PostgresEngine } from '../../lambda/rotation/engines/postgres';
import type { RotationContext } from '../../lambda/rotation/rotation-context';
import { AlternatingUsersStrategy, alternateUsername, baseUsername } from '../../lambda/rotation/strategies/alternating-users';
import { STRATEGY_NAMES, strategyNamed } from '../../lambda/rotation/strategies';
import { RdsMasterStrategy } from '../../lambda/rotation/strategies/rds-master';
import { SingleUserStrategy } from '../../lambda/rotation/strategies/single-user';
import { rotationFailure, thrownRotationError } from '../support/rotation-error';

/**
 * The strategies' checks that need no database: which pending secret each accepts
 * (validatePending), the alternate-user name rules, the RDS master-password limits, and which
 * RDS database rds-master may act on. A recording RotationContext stands in for the real one
 * (whose assertSameTarget has its own tests, test/unit/trust-rules.test.ts).
 */

function secret(over: Partial<DatabaseSecret> = {}): DatabaseSecret {
  return { engine: 'postgres', host: 'db.example.com', port: 5432, username: 'app', password: 'old-password', extra: {}, ...over };
}

interface FakeOptions {
  rdsResources?: Array<{ kind: 'instance' | 'cluster'; identifier: string; region: string; account: string }>;
  region?: string;
  db?: Partial<RdsDatabase>;
}

function fakeContext(opts: FakeOptions = {}) {
  const calls: Array<{ reference: DatabaseSecret; other: DatabaseSecret; label: string; mayDiffer: readonly string[] }> = [];
  const described: Array<[string, string]> = [];
  const ctx = {
    config: { rdsResources: opts.rdsResources ?? [], region: opts.region },
    assertSameTarget(reference: DatabaseSecret, other: DatabaseSecret, label: string, mayDiffer: readonly string[]) {
      calls.push({ reference, other, label, mayDiffer });
    },
    engine(s: DatabaseSecret) {
      return s.engine === 'postgres' || s.engine === 'aurora-postgresql' ? new PostgresEngine() : new MysqlEngine();
    },
    rds() {
      return {
        async describe(kind: string, identifier: string): Promise<RdsDatabase> {
          described.push([kind, identifier]);
          return {
            kind: kind as RdsDatabase['kind'], identifier, engine: 'postgres', host: 'db.example.com', port: 5432,
            status: 'available', masterUsername: 'app', managedMasterPassword: false, ...opts.db,
          };
        },
      };
    },
  };
  return { ctx: ctx as unknown as RotationContext, calls, described };
}

describe('strategyNamed', () => {
  it('makes each named strategy, single-user by default', () => {
    expect(strategyNamed(undefined)).toBeInstanceOf(SingleUserStrategy);
    expect(strategyNamed('single-user')).toBeInstanceOf(SingleUserStrategy);
    expect(strategyNamed('alternating-users')).toBeInstanceOf(AlternatingUsersStrategy);
    expect(strategyNamed('rds-master')).toBeInstanceOf(RdsMasterStrategy);
    expect(STRATEGY_NAMES).toEqual(['single-user', 'alternating-users', 'rds-master']);
  });

  it('refuses an unknown name as a configuration error naming the supported ones', () => {
    const e = thrownRotationError(() => strategyNamed('multi-user'));
    expect(e.category).toBe('configuration');
    expect(e.message).toContain('"multi-user"');
    expect(e.message).toContain('single-user, alternating-users, rds-master');
    expect(thrownRotationError(() => strategyNamed('')).category).toBe('configuration');
  });
});

describe('validatePending: the pending secret must name the same target', () => {
  it.each([
    ['single-user', new SingleUserStrategy(), []],
    ['rds-master', new RdsMasterStrategy(), []],
  ])('%s lets nothing but the password differ', (_name, strategy, mayDiffer) => {
    const { ctx, calls } = fakeContext();
    const current = secret();
    const pending = secret({ password: 'new-password' });
    strategy.validatePending(current, pending, ctx);
    expect(calls).toEqual([{ reference: current, other: pending, label: 'AWSPENDING', mayDiffer }]);
  });

  it('alternating-users lets the user name differ, and only to the alternate of the current user', () => {
    const { ctx, calls } = fakeContext();
    const strategy = new AlternatingUsersStrategy();
    const current = secret({ username: 'app' });
    const pending = secret({ username: 'app_clone', password: 'new-password' });
    strategy.validatePending(current, pending, ctx);
    expect(calls).toEqual([{ reference: current, other: pending, label: 'AWSPENDING', mayDiffer: ['username'] }]);
    // and back
    strategy.validatePending(pending, secret({ username: 'app' }), ctx);
  });

  it.each(['app', 'other', 'app_clone_clone', 'App_clone'])('alternating-users refuses AWSPENDING user %s for AWSCURRENT app', (user) => {
    const { ctx } = fakeContext();
    const e = thrownRotationError(() => new AlternatingUsersStrategy().validatePending(secret({ username: 'app' }), secret({ username: user }), ctx));
    expect(e.category).toBe('conflict');
    expect(e.message).toContain('not the alternate');
  });

  it('alternating-users checks the target before the user name (a changed host is reported as such)', () => {
    const strategy = new AlternatingUsersStrategy();
    const ctx = {
      assertSameTarget() {
        throw new RotationError({ category: 'conflict', code: 'TargetChanged', message: 'host differs', action: 'x' });
      },
    } as unknown as RotationContext;
    expect(thrownRotationError(() => strategy.validatePending(secret(), secret({ username: 'app_clone' }), ctx)).code).toBe('TargetChanged');
  });
});

describe('alternate user names', () => {
  it('alternates name <-> name_clone', () => {
    expect(alternateUsername('app')).toBe('app_clone');
    expect(alternateUsername('app_clone')).toBe('app');
    expect(alternateUsername('_clone')).toBe('');
    expect(alternateUsername('app_clone_x')).toBe('app_clone_x_clone');
  });

  it('the base user is the name without the suffix', () => {
    expect(baseUsername('app')).toBe('app');
    expect(baseUsername('app_clone')).toBe('app');
    expect(baseUsername('app_clone_x')).toBe('app_clone_x');
  });
});

describe('AlternatingUsersStrategy.nextCredential', () => {
  const strategy = new AlternatingUsersStrategy();

  it('makes the alternate user with the new password, keeping every other field', async () => {
    const { ctx } = fakeContext();
    const current = secret({ masterarn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:m', dbname: 'd', extra: { k: 1 } });
    expect(await strategy.nextCredential(current, 'new-password', ctx)).toEqual({ ...current, username: 'app_clone', password: 'new-password' });
  });

  it('refuses a secret without masterarn', async () => {
    const { ctx } = fakeContext();
    const e = await rotationFailure(strategy.nextCredential(secret(), 'new-password', ctx));
    expect(e.category).toBe('configuration');
    expect(e.message).toContain('"masterarn"');
  });

  it('PostgreSQL: an alternate name of exactly 63 bytes is accepted, 64 bytes refused (counted in bytes)', async () => {
    const { ctx } = fakeContext();
    const m = { masterarn: 'arn:m' };
    const ok = 'a'.repeat(57); // + _clone = 63
    expect((await strategy.nextCredential(secret({ ...m, username: ok }), 'p', ctx)).username).toBe(`${ok}_clone`);
    const e = await rotationFailure(strategy.nextCredential(secret({ ...m, username: 'a'.repeat(58) }), 'p', ctx));
    expect(e.category).toBe('configuration');
    expect(e.message).toContain('would be 64 long; postgres allows at most 63');
    expect(e.action).toContain('at most 57 bytes');
    // 28 two-byte characters: 56 bytes + 6 = 62 fits; 29: 64 does not.
    await strategy.nextCredential(secret({ ...m, username: 'é'.repeat(28) }), 'p', ctx);
    expect((await rotationFailure(strategy.nextCredential(secret({ ...m, username: 'é'.repeat(29) }), 'p', ctx))).message).toContain('would be 64 long');
  });

  it('MySQL: counted in characters, 32 at most; MariaDB 80', async () => {
    const { ctx } = fakeContext();
    const m = { masterarn: 'arn:m', port: 3306 };
    await strategy.nextCredential(secret({ ...m, engine: 'mysql', username: 'é'.repeat(26) }), 'p', ctx);
    const e = await rotationFailure(strategy.nextCredential(secret({ ...m, engine: 'mysql', username: 'é'.repeat(27) }), 'p', ctx));
    expect(e.message).toContain('would be 33 long; mysql allows at most 32');
    expect(e.action).toContain('at most 26 characters');
    await strategy.nextCredential(secret({ ...m, engine: 'mariadb', username: 'a'.repeat(74) }), 'p', ctx);
    expect((await rotationFailure(strategy.nextCredential(secret({ ...m, engine: 'mariadb', username: 'a'.repeat(75) }), 'p', ctx))).message)
      .toContain('would be 81 long; mariadb allows at most 80');
  });
});

describe('RdsMasterStrategy: only the deployed database, only passwords RDS accepts', () => {
  const strategy = new RdsMasterStrategy();
  const instance = { kind: 'instance' as const, identifier: 'Prod-DB', region: 'eu-west-1', account: '123456789012' };
  const cluster = { kind: 'cluster' as const, identifier: 'prod-cluster', region: 'eu-west-1', account: '123456789012' };

  it('nextCredential keeps every field and sets the password when the database is deployed', async () => {
    const { ctx } = fakeContext({ rdsResources: [instance], region: 'eu-west-1' });
    const current = secret({ dbInstanceIdentifier: 'prod-db' });
    expect(await strategy.nextCredential(current, 'abcdefgh', ctx)).toEqual({ ...current, password: 'abcdefgh' });
  });

  it('refuses when no database was deployed for the function', async () => {
    const { ctx } = fakeContext({ rdsResources: [] });
    const e = await rotationFailure(strategy.nextCredential(secret({ dbInstanceIdentifier: 'prod-db' }), 'abcdefgh', ctx));
    expect(e.category).toBe('configuration');
    expect(e.code).toBe('RdsResourceNotDeployed');
  });

  it('refuses a secret that names no database, before anything else', async () => {
    const { ctx } = fakeContext({ rdsResources: [instance] });
    const e = await rotationFailure(strategy.nextCredential(secret(), 'abcdefgh', ctx));
    expect(e.category).toBe('configuration');
    expect(e.message).toContain('names no RDS database');
    // The missing identifier is reported even when nothing was deployed.
    expect((await rotationFailure(strategy.nextCredential(secret(), 'abcdefgh', fakeContext().ctx))).message).toContain('names no RDS database');
  });

  it.each([
    ['another identifier', { dbInstanceIdentifier: 'other-db' }, [instance], 'eu-west-1'],
    ['an instance where a cluster of that name was deployed', { dbInstanceIdentifier: 'prod-cluster' }, [cluster], 'eu-west-1'],
    ['a cluster where an instance of that name was deployed', { dbClusterIdentifier: 'prod-db' }, [instance], 'eu-west-1'],
    ['the deployed identifier in another Region', { dbInstanceIdentifier: 'prod-db' }, [instance], 'us-east-1'],
  ])('refuses %s', async (_what, over, rdsResources, region) => {
    const { ctx } = fakeContext({ rdsResources, region });
    const e = await rotationFailure(strategy.nextCredential(secret(over), 'abcdefgh', ctx));
    expect(e.category).toBe('conflict');
    expect(e.code).toBe('RdsResourceNotDeployed');
  });

  it('matches identifiers case-insensitively, any of several, and any Region when the function has none', async () => {
    await strategy.nextCredential(secret({ dbInstanceIdentifier: 'PROD-db' }), 'abcdefgh', fakeContext({ rdsResources: [cluster, instance], region: 'eu-west-1' }).ctx);
    await strategy.nextCredential(secret({ dbInstanceIdentifier: 'prod-db' }), 'abcdefgh', fakeContext({ rdsResources: [instance] }).ctx);
  });

  it('a secret naming both uses the cluster', async () => {
    const { ctx, described } = fakeContext({ rdsResources: [cluster], region: 'eu-west-1' });
    await strategy.preflight(secret({ dbClusterIdentifier: 'prod-cluster', dbInstanceIdentifier: 'prod-db' }), ctx);
    expect(described).toEqual([['cluster', 'prod-cluster']]);
    const other = fakeContext({ rdsResources: [instance], region: 'eu-west-1' });
    await strategy.preflight(secret({ dbInstanceIdentifier: 'prod-db' }), other.ctx);
    expect(other.described).toEqual([['instance', 'prod-db']]);
  });

  describe('master password limits (8 to 128 characters on PostgreSQL, 41 on MySQL; no / " @ or space)', () => {
    const pg = () => fakeContext({ rdsResources: [instance] }).ctx;
    const s = (over: Partial<DatabaseSecret> = {}) => secret({ dbInstanceIdentifier: 'prod-db', ...over });

    it('accepts the boundary lengths', async () => {
      await strategy.nextCredential(s(), 'a'.repeat(8), pg());
      await strategy.nextCredential(s(), 'a'.repeat(128), pg());
      await strategy.nextCredential(s({ engine: 'mysql', port: 3306 }), 'a'.repeat(41), pg());
    });

    it.each([
      ['7 characters', 'a'.repeat(7), 'postgres'],
      ['129 characters on PostgreSQL', 'a'.repeat(129), 'postgres'],
      ['42 characters on MySQL', 'a'.repeat(42), 'mysql'],
      ['a slash', 'abcd/efgh', 'postgres'],
      ['a double quote', 'abcd"efgh', 'postgres'],
      ['an at sign', 'abcd@efgh', 'postgres'],
      ['a space', 'abcd efgh', 'postgres'],
    ])('refuses %s', async (_what, password, engine) => {
      const e = await rotationFailure(strategy.nextCredential(s({ engine: engine as DatabaseSecret['engine'] }), password, pg()));
      expect(e.category).toBe('configuration');
      expect(e.message).toContain(`8-${engine === 'mysql' ? 41 : 128} characters`);
      expect(e.action).toContain(`at most ${engine === 'mysql' ? 41 : 128}`);
    });
  });

  describe('the database must be the secret\'s (preflight)', () => {
    const s = secret({ dbInstanceIdentifier: 'prod-db' });
    const run = (db: Partial<RdsDatabase>, over: Partial<DatabaseSecret> = {}) =>
      strategy.preflight({ ...s, ...over }, fakeContext({ rdsResources: [instance], db }).ctx);

    it('accepts the master user on the secret\'s endpoint, host case-insensitively', async () => {
      await run({});
      await run({ host: 'DB.Example.COM' });
      await run({}, { host: 'Db.example.com' });
    });

    it('refuses RDS-managed master passwords', async () => {
      const e = await rotationFailure(run({ managedMasterPassword: true }));
      expect(e.category).toBe('configuration');
      expect(e.message).toContain('ManageMasterUserPassword');
    });

    it.each([
      ['another master user', { masterUsername: 'admin' }, 'MasterUsername'],
      ['no master user', { masterUsername: undefined }, 'MasterUsername'],
      ['no endpoint host', { host: undefined }, 'no endpoint yet'],
      ['no endpoint port', { port: undefined }, 'no endpoint yet'],
      ['another host', { host: 'other.example.com' }, 'not the secret\'s db.example.com:5432'],
      ['another port', { port: 5433 }, 'not the secret\'s db.example.com:5432'],
    ])('refuses %s', async (_what, db, text) => {
      const e = await rotationFailure(run(db));
      expect(e.category).toBe('conflict');
      expect(e.message).toContain(text);
    });
  });
});
