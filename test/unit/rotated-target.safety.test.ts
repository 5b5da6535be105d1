import { createHash } from 'node:crypto';
import { parseDatabaseSecret } from '../../lambda/core/database-secret';
import { ROTATED_TARGET_TAG, targetChangedError, targetFingerprint } from '../../lambda/rotation/rotated-target';
import { RotationError } from '../../lambda/core/errors';

/**
 * The recorded target (rotor:rotated-target tag) is compared with the value a
 * previous release wrote: its format is part of the behaviour. A change to
 * what is hashed, or how it is normalized, would make every deployed secret
 * look moved (and refuse to rotate) after an upgrade.
 */
const secret = (o: Record<string, unknown>) => parseDatabaseSecret(JSON.stringify({ engine: 'postgres', host: 'db.example', port: 5432, username: 'app', password: 'p', ...o }), 't');
const v1 = (parts: unknown[]) => `v1:${createHash('sha256').update(JSON.stringify(parts)).digest('hex')}`;

describe('targetFingerprint format (v1)', () => {
  test('engine, lower-cased host, port, database, user, master, lower-cased RDS identifiers; absent ones as ""', () => {
    expect(targetFingerprint(secret({}), [])).toBe(v1(['postgres', 'db.example', 5432, '', 'app', '', '', '']));
    expect(targetFingerprint(secret({ host: 'DB.Example', dbname: 'appdb', masterarn: 'arn:M', dbInstanceIdentifier: 'DB1', dbClusterIdentifier: 'Cl1' }), []))
      .toBe(v1(['postgres', 'db.example', 5432, 'appdb', 'app', 'arn:M', 'db1', 'cl1']));
  });

  test('the user\'s base name when the strategy alternates users; the exact name otherwise', () => {
    expect(targetFingerprint(secret({ username: 'app_clone' }), ['username'])).toBe(v1(['postgres', 'db.example', 5432, '', 'app', '', '', '']));
    expect(targetFingerprint(secret({ username: 'app_clone' }), [])).toBe(v1(['postgres', 'db.example', 5432, '', 'app_clone', '', '', '']));
  });

  test('the value recorded by this release for a known secret', () => {
    expect(targetFingerprint(secret({}), [])).toBe('v1:15c084f1bf547c100b7beda1118e213a37c4f06e81d7ceedb418a5073c94f10f');
  });
});

describe('targetChangedError', () => {
  test('a conflict with code TargetChanged that says how to recover and that nothing changed', () => {
    const e = targetChangedError();
    expect(e).toBeInstanceOf(RotationError);
    expect(e).toMatchObject({ category: 'conflict', code: 'TargetChanged' });
    expect(e.message).toMatch(/AWSCURRENT names another database target/);
    expect((e as RotationError).action).toContain(`remove the ${ROTATED_TARGET_TAG} tag`);
    expect((e as RotationError).action).toMatch(/ROTOR_ALLOW_TARGET_CHANGE=true/);
    expect((e as RotationError).action).toMatch(/Nothing was changed\.$/);
    expect(ROTATED_TARGET_TAG).toBe('rotor:rotated-target');
  });
});
