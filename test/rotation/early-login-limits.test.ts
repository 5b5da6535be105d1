/**
 * Limits of the early login (setSecret/testSecret start their first login with DescribeSecret,
 * lambda/rotation/rotation-context.ts startEarlyLogin), found by an attack review: it must not
 * behave differently from the login the step would have made itself after DescribeSecret (a
 * session whose statement limit, fixed at its connect, would outlive the step is not taken), and
 * the master-secret hint must not outgrow Lambda's 4 KB environment.
 *
 * Deterministic in the sense of deadline.test.ts: the time left is what the test hands the
 * function, the slow part (a DescribeSecret answer, a lock on the role) is held by the test, and
 * no duration is asserted.
 */
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { createRotationHandler } from '../../lambda/rotation/handler';
import { RotationFunction } from '../../lib/rotation-function';
import { ACCOUNT, REGION, fastApp } from '../infra/infra-fixtures';
import { startBed, type ReliabilityBed } from '../reliability/support/reliability-kit';
import { silentLogger } from '../support/rotation-fixture';

jest.setTimeout(90_000);

let bed: ReliabilityBed;
beforeAll(async () => {
  bed = await startBed({ engine: 'postgres', rotation: { maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 20 } });
});
afterAll(async () => bed?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A rotation function whose setSecret has `setSecretMs` left when it starts (counting down).
 * `split`: setSecret and the later steps run in another container than createSecret (no early
 * login: that container did not run createSecret), the control case.
 */
function fnWithSetSecretDeadline(name: string, env: Record<string, string>, setSecretMs: number, split: boolean): string {
  const make = () => createRotationHandler({ secretsManager: bed.fnSm, env: { ...bed.baseEnv, ...env }, logger: silentLogger() });
  const first = make();
  const rest = split ? make() : first;
  const arn = bed.local.lambdaArn(name);
  bed.local.registerRotationFunction(arn, {
    kind: 'in-process',
    handler: (e, c) => {
      const step = (e as { Step: string }).Step;
      const h = step === 'createSecret' ? first : rest;
      if (step !== 'setSecret') return h(e, c as never);
      const deadline = Date.now() + setSecretMs;
      return h(e, { ...(c as object), getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) } as never);
    },
  });
  return arn;
}

async function superuserClient(): Promise<Client> {
  const su = bed.f.pg.superuser;
  const c = new Client({ host: 'localhost', port: bed.f.pg.port, user: su.username, password: su.password, database: bed.f.pg.database, ssl: { ca: readFileSync(bed.f.pg.caFile!, 'utf8') } });
  await c.connect();
  return c;
}

/**
 * One single-user rotation in which setSecret's DescribeSecret answer takes `describeMs` and the
 * role's catalog row is locked by another transaction (so ALTER ROLE waits for its lock timeout).
 * Returns how setSecret failed and whether the AWSCURRENT password still logs in once the lock is
 * released and the server has nothing of the function's left running.
 */
async function slowDescribeLockedRole(split: boolean, tag: string) {
  // 60 s statement timeout: the only bound on the ALTER ROLE is the time left (less the margin).
  const fn = fnWithSetSecretDeadline(`early-deadline-${tag}`, { ROTOR_STATEMENT_TIMEOUT_MS: '60000', ROTOR_DEADLINE_MARGIN_MS: '1000' }, 8000, split);
  const { name, password, arn } = await bed.roleWithSecret(`ela_${tag}`);
  const locker = await superuserClient();
  let step = 'none';
  let held = false;
  bed.local.observeInvocations((e) => {
    if (e.secretArn === arn && e.phase === 'start') step = e.step;
  });
  bed.local.faults.setInterceptor(async (c) => {
    if (c.phase !== 'before' || c.op !== 'DescribeSecret' || c.input.SecretId !== arn || step !== 'setSecret' || held) return;
    held = true;
    await sleep(3000); // a slow answer (SDK retries with backoff, throttling)
  });
  try {
    // Holds the row lock on the role until ROLLBACK (logins still work: they read the committed row).
    await locker.query('BEGIN');
    await locker.query(`ALTER ROLE ${locker.escapeIdentifier(name)} CONNECTION LIMIT 50`);
    const outcome = await bed.rotate(arn, fn);
    await locker.query('ROLLBACK');
    // Wait until no statement of the rotated role is running any more (the function's ALTER ROLE).
    const watcher = await superuserClient();
    try {
      for (let i = 0; i < 150; i++) {
        const r = await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND state = 'active'", [name]);
        if (r.rows[0].n === 0) break;
        await sleep(100);
      }
    } finally {
      await watcher.end();
    }
    const m = outcome.errorMessage ?? '';
    return {
      step: outcome.step,
      failure: /DeadlineReached/.test(m) ? 'deadline' : /statement\/lock timeout/.test(m) ? 'lock timeout (categorized, with what to do)' : m.slice(0, 80),
      currentStillLogsIn: await bed.canLogin(name, password),
    };
  } finally {
    bed.local.faults.setInterceptor(undefined);
    bed.local.observeInvocations(undefined);
    await locker.end().catch(() => undefined);
  }
}

describe('deadline budget of the early session (single-user setSecret changes the password in it)', () => {
  // Control: without an early login (setSecret in another container) the login after DescribeSecret
  // gets what is left (less the margin) as its statement/lock timeout, so the blocked ALTER ROLE
  // ends before the deadline with its own categorized error, and nothing changes later.
  test('control: setSecret in a container that did not run createSecret reports the lock timeout and changes nothing', async () => {
    expect(await slowDescribeLockedRole(true, 'ctl')).toEqual({ step: 'setSecret', failure: 'lock timeout (categorized, with what to do)', currentStillLogsIn: true });
  });

  // The early session's statement/lock timeout was fixed before DescribeSecret, from the time left
  // then: the ALTER ROLE in it can outlive deadline - margin by DescribeSecret's duration. The step
  // then ends with the generic [timeout] DeadlineReached while the ALTER ROLE still waits on the
  // server, and when the lock goes away the password changes after the step reported its failure.
  test('early login: the same slow DescribeSecret gives the same categorized failure, and no password change lands after the step failed', async () => {
    expect(await slowDescribeLockedRole(false, 'early')).toEqual({ step: 'setSecret', failure: 'lock timeout (categorized, with what to do)', currentStillLogsIn: true });
  });
});

/**
 * ROTOR_MASTER_SECRET_ARNS (lib/rotation-function.ts) lists every master secret granted, though the
 * function only uses it when there is exactly one. Lambda refuses a function whose environment
 * variables total more than 4 KB (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html),
 * at deploy time: a shared alternating-users function that passes rotor's own synth checks (the
 * resource-policy size check allows about 44 secrets) no longer deploys.
 */
describe('ROTOR_MASTER_SECRET_ARNS and the Lambda environment size', () => {
  test('40 alternating-users secrets with their own master secrets: the environment stays within 4 KB', () => {
    const stack = new Stack(fastApp(), 'Env', { env: { account: ACCOUNT, region: REGION } });
    const fn = new RotationFunction(stack, 'Fn', { strategy: 'alternating-users' });
    for (let i = 0; i < 40; i++) {
      const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, `App${i}`, `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:production/payments-service-${i}/app-user-AbCdE${i % 10}`);
      const master = secretsmanager.Secret.fromSecretCompleteArn(stack, `Master${i}`, `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:production/payments-service-${i}/postgres-master-AbCdE${i % 10}`);
      fn.grantRotate(secret, master);
    }
    const fns = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { ROTOR_STRATEGY: 'alternating-users' } } } }));
    expect(fns).toHaveLength(1);
    const vars = fns[0].Properties.Environment.Variables as Record<string, unknown>;
    const bytes = Object.entries(vars).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : JSON.stringify(v)), 0);
    // Total bytes of the function's environment (names and values), against Lambda's 4 KB.
    expect(bytes).toBeLessThanOrEqual(4096);
  });
});
