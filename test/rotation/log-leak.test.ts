import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createRotationHandler } from '../../lambda/rotation/handler';
import { startRotationFixture, type RotationFixture } from '../support/rotation-fixture';

let f: RotationFixture;
beforeAll(async () => {
  f = await startRotationFixture({ tls: true });
});
afterAll(async () => {
  await f?.stop();
});

test('no password appears in any log line of whole rotations (debug level, success and failures)', async () => {
  const lines: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  const originalErr = process.stderr.write.bind(process.stderr);
  const capture = (chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  };
  const logger = new Logger({ serviceName: 'rotor-rotation', logLevel: 'DEBUG' });
  // Metrics on: EMF lines are part of what is audited.
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  const metrics = new Metrics({ namespace: 'Rotor', serviceName: 'rotor-rotation' });
  const handler = createRotationHandler({ secretsManager: f.sm, env: { ROTOR_TLS_CA_FILE: f.pg.caFile! }, logger, metrics });
  const arn = f.local.lambdaArn('leak-audit');
  f.local.registerRotationFunction(arn, { kind: 'in-process', handler: (e, c) => handler(e, c as never) });

  const passwords: string[] = [];
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    // A successful rotation.
    const p1 = await f.createRole('leak_ok');
    passwords.push(p1);
    const ok = await f.createSecret(f.secretFor('leak_ok', p1));
    expect((await f.rotate(ok, arn)).eventName).toBe('RotationSucceeded');
    passwords.push((await f.current(ok)).password);
    // A rotation where no stored password works (authentication failures logged).
    const p2 = await f.createRole('leak_lost');
    passwords.push(p2, 'wrong-Password-AAA1', 'wrong-Password-BBB2');
    const lost = await f.createSecret(f.secretFor('leak_lost', 'wrong-Password-AAA1'));
    await f.sm.send(new PutSecretValueCommand({ SecretId: lost, SecretString: JSON.stringify(f.secretFor('leak_lost', 'wrong-Password-BBB2')) }));
    const failed = await f.rotate(lost, arn);
    expect(failed.eventName).toBe('RotationFailed');
    // The pending passwords of the failed attempts.
    for (const v of await f.sm.send(new (require('@aws-sdk/client-secrets-manager').ListSecretVersionIdsCommand)({ SecretId: lost, IncludeDeprecated: true })).then((o: any) => o.Versions)) {
      const value = await f.sm.send(new (require('@aws-sdk/client-secrets-manager').GetSecretValueCommand)({ SecretId: lost, VersionId: v.VersionId })).then((o: any) => JSON.parse(o.SecretString).password, () => undefined);
      if (value) passwords.push(value);
    }
  } finally {
    process.stdout.write = original;
    process.stderr.write = originalErr;
  }
  const all = lines.join('');
  // The capture really saw the function's debug and error lines.
  expect(all).toMatch(/"message":"step finished"/);
  expect(all).toMatch(/"message":"step failed"/);
  expect(all).toMatch(/"level":"DEBUG"/);
  expect(all).toMatch(/"RotationStepSucceeded"/);
  expect(all).toMatch(/"RotationStepFailed"/);
  const leaks = passwords.filter((p) => all.includes(p));
  expect(leaks).toEqual([]);
  // Failure events are part of the output too.
  const events = JSON.stringify(f.local.events());
  expect(passwords.filter((p) => events.includes(p))).toEqual([]);
});
