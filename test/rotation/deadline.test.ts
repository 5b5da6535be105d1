/**
 * At the Lambda deadline every strategy ends with a categorized RotationError
 * (step, category `timeout`, action), never middy's uncategorized AbortError,
 * and changes nothing. Deterministic: the time left is a fixed value the test
 * hands the function, and the slow part is a server the test controls.
 */
import { randomUUID } from 'node:crypto';
import { RDSClient } from '@aws-sdk/client-rds';
import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createRotationHandler } from '../../lambda/rotation/handler';
import { LocalRds, localRdsClientConfig } from '../../local/rds';
import { startBed, uniq, type ReliabilityBed } from '../reliability/support/reliability-kit';
import { silentLogger } from '../support/rotation-fixture';

jest.setTimeout(60_000);

let bed: ReliabilityBed;
let rds: LocalRds;
beforeAll(async () => {
  bed = await startBed({ engine: 'postgres', rotation: { maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 20 } });
  rds = await LocalRds.start({ port: 0 });
});
afterAll(async () => {
  await rds?.stop();
  await bed?.stop();
});

/** A function whose `step` invocations see `remainingMs` left (fixed); other steps run as usual. */
function withTimeLeft(name: string, env: Record<string, string>, step: string, remainingMs: number, beforeStep?: () => void): string {
  const handler = createRotationHandler({
    secretsManager: bed.fnSm,
    rds: new RDSClient({ ...localRdsClientConfig(rds.endpoint, rds.region), maxAttempts: 1 }),
    env: { ...bed.baseEnv, ...env },
    logger: silentLogger(),
  });
  const arn = bed.local.lambdaArn(name);
  bed.local.registerRotationFunction(arn, {
    kind: 'in-process',
    handler: (e, c) => {
      const hit = (e as { Step: string }).Step === step;
      if (hit) beforeStep?.();
      return handler(e, (hit ? { ...(c as object), getRemainingTimeInMillis: () => remainingMs } : c) as never);
    },
  });
  return arn;
}

async function subject(strategy: 'single-user' | 'alternating-users' | 'rds-master'): Promise<{ name: string; password: string; arn: string; env: Record<string, string> }> {
  const { name, password, arn } = await bed.roleWithSecret(`dl_${strategy.replace(/-/g, '_')}`);
  if (strategy === 'single-user') return { name, password, arn, env: {} };
  if (strategy === 'alternating-users') {
    const su = bed.f.pg.superuser;
    const master = await bed.sm.send(new CreateSecretCommand({ Name: `deadline/${uniq('master')}`, SecretString: JSON.stringify(bed.f.secretFor(su.username, su.password)) }));
    const alt = await bed.sm.send(new CreateSecretCommand({ Name: `deadline/${uniq('alt')}`, SecretString: JSON.stringify(bed.f.secretFor(name, password, { masterarn: master.ARN })) }));
    return { name, password, arn: alt.ARN!, env: { ROTOR_STRATEGY: strategy } };
  }
  const id = `deadline-${randomUUID().slice(0, 8)}`;
  rds.addInstance({
    identifier: id, engine: 'postgres', host: 'localhost', port: bed.f.pg.port, masterUsername: name,
    applyPassword: async (pw) => { await bed.f.pg.query(`ALTER ROLE "${name}" PASSWORD '${pw.replace(/'/g, "''")}'`); },
  });
  const secret = await bed.sm.send(new CreateSecretCommand({ Name: `deadline/${uniq('rds')}`, SecretString: JSON.stringify(bed.f.secretFor(name, password, { dbInstanceIdentifier: id })) }));
  return { name, password, arn: secret.ARN!, env: { ROTOR_STRATEGY: strategy, ROTOR_RDS_RESOURCE_ARNS: rds.instanceArn(id) } };
}

describe.each(['single-user', 'alternating-users', 'rds-master'] as const)('%s', (strategy) => {
  test('a login started with less time left than the deadline margin: setSecret ends [timeout] at once, nothing changed', async () => {
    const s = await subject(strategy);
    // 400 ms left, 1000 ms margin: before, the connect timeout had a 500 ms floor and middy aborted the step uncategorized.
    const fn = withTimeLeft(`dl-login-${strategy}`, s.env, 'setSecret', 400);
    const outcome = await bed.rotate(s.arn, fn);
    expect(outcome.eventName).toBe('RotationFailed');
    expect(outcome.errorMessage).toMatch(/^setSecret: \[timeout\] too little time was left to log in to localhost:\d+ before the Lambda deadline \(code DeadlineReached\)\. Secrets Manager retries the rotation/);
    expect(await bed.canLogin(s.name, s.password)).toBe(true);
  });

  test('a Secrets Manager answer slower than the time left: the step ends [timeout] before the deadline, not with an AbortError', async () => {
    const s = await subject(strategy);
    // testSecret's DescribeSecret answer takes 2 s; the function has 400 ms (no margin kept), so its
    // own deadline (100 ms before the end) ends the step long before the answer comes.
    const fn = withTimeLeft(`dl-slow-${strategy}`, { ...s.env, ROTOR_DEADLINE_MARGIN_MS: '0' }, 'testSecret', 400,
      () => bed.local.faults.inject({ op: 'DescribeSecret', delayMs: 2000, times: 1 }));
    try {
      const outcome = await bed.rotate(s.arn, fn);
      expect(outcome.eventName).toBe('RotationFailed');
      expect(outcome.errorMessage).toMatch(/^testSecret: \[timeout\] the step did not finish before the Lambda deadline \(code DeadlineReached\)/);
    } finally {
      bed.local.faults.clear();
    }
  });
});

test('an answer that comes after the step was reported [timeout]: the step, still running, writes nothing (no AWSPENDING value)', async () => {
  const s = await subject('single-user');
  // createSecret's DescribeSecret answer takes 1.5 s; the function has 400 ms (no margin kept): the
  // step is reported [timeout], and when the answer comes the abandoned step goes on in this
  // process. It must not write the AWSPENDING value then.
  const fn = withTimeLeft('dl-late-write', { ROTOR_DEADLINE_MARGIN_MS: '0' }, 'createSecret', 400,
    () => bed.local.faults.inject({ op: 'DescribeSecret', delayMs: 1500, times: 1 }));
  try {
    const outcome = await bed.rotate(s.arn, fn);
    expect(outcome.eventName).toBe('RotationFailed');
    expect(outcome.errorMessage).toMatch(/^createSecret: \[timeout\] the step did not finish before the Lambda deadline \(code DeadlineReached\)/);
    // Wait until the delayed answer has come and the abandoned step has had time to go on.
    await new Promise((resolve) => setTimeout(resolve, 2500));
  } finally {
    bed.local.faults.clear();
  }
  const labels = (await bed.sm.send(new DescribeSecretCommand({ SecretId: s.arn }))).VersionIdsToStages ?? {};
  const pending = Object.entries(labels).find(([, st]) => st.includes('AWSPENDING'))?.[0];
  expect(pending).toBeDefined();
  await expect(bed.sm.send(new GetSecretValueCommand({ SecretId: s.arn, VersionId: pending }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  expect(await bed.canLogin(s.name, s.password)).toBe(true);
});

