import { CreateSecretCommand, GetSecretValueCommand, RotateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LocalSecretsManager } from '../../local';
import { labels, startLocal, token, uniqueName, versionWith } from './local-test-kit';

/*
 * A rotation function as a CommonJS bundle in a warm Node child process,
 * calling the endpoint with the SDK configured only by the Lambda-like
 * environment (AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_REGION, credentials).
 */

const SDK = require.resolve('@aws-sdk/client-secrets-manager');

/** The bundle: the four steps with the SDK; BEHAVIOUR (an env var) makes it misbehave on purpose. */
const BUNDLE = `
'use strict';
const fs = require('node:fs');
const sm = require(${JSON.stringify(SDK)});
const client = new sm.SecretsManagerClient({ maxAttempts: 2 });
let invocations = 0;
exports.handler = async (event, context) => {
  invocations++;
  fs.appendFileSync(process.env.TRACE_FILE, JSON.stringify({
    step: event.Step, pid: process.pid, invocations,
    remaining: context.getRemainingTimeInMillis(), functionName: context.functionName, requestId: context.awsRequestId,
    env: { endpoint: process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER, region: process.env.AWS_REGION, fn: process.env.AWS_LAMBDA_FUNCTION_NAME,
           key: process.env.AWS_ACCESS_KEY_ID, leaked: process.env.LEAK_CHECK ?? null, own: process.env.OWN_SETTING },
  }) + '\\n');
  const behaviour = process.env.BEHAVIOUR;
  if (behaviour === 'hang' && event.Step === 'setSecret') await new Promise(() => setTimeout(() => undefined, 60000));
  if (behaviour === 'crash' && event.Step === 'setSecret') process.exit(3);
  if (behaviour === 'throw' && event.Step === 'testSecret') { const e = new Error('cannot connect to db'); e.name = 'DatabaseError'; throw e; }
  const { SecretId, ClientRequestToken: token } = event;
  const meta = await client.send(new sm.DescribeSecretCommand({ SecretId }));
  const stages = meta.VersionIdsToStages[token] || [];
  if (stages.includes('AWSCURRENT')) return;
  if (event.Step === 'createSecret') {
    // Idempotent, as every step must be: a retried rotation finds its value already there.
    try {
      await client.send(new sm.GetSecretValueCommand({ SecretId, VersionId: token, VersionStage: 'AWSPENDING' }));
      return;
    } catch (e) {
      if (e.name !== 'ResourceNotFoundException') throw e;
    }
    const current = await client.send(new sm.GetSecretValueCommand({ SecretId, VersionStage: 'AWSCURRENT' }));
    const pw = await client.send(new sm.GetRandomPasswordCommand({ PasswordLength: 20, ExcludePunctuation: true }));
    const value = Object.assign(JSON.parse(current.SecretString), { password: pw.RandomPassword });
    await client.send(new sm.PutSecretValueCommand({ SecretId, ClientRequestToken: token, SecretString: JSON.stringify(value), VersionStages: ['AWSPENDING'], RotationToken: event.RotationToken }));
  }
  if (event.Step === 'finishSecret') {
    const current = Object.keys(meta.VersionIdsToStages).find((v) => meta.VersionIdsToStages[v].includes('AWSCURRENT'));
    await client.send(new sm.UpdateSecretVersionStageCommand({ SecretId, VersionStage: 'AWSCURRENT', MoveToVersionId: token, RemoveFromVersionId: current }));
  }
  return { ok: true };
};
`;

let local: LocalSecretsManager;
let sm: SecretsManagerClient;
let dir: string;
let bundlePath: string;

beforeAll(async () => {
  ({ local, sm } = await startLocal({ rotation: { maxAttempts: 2, initialBackoffMs: 20, maxBackoffMs: 20 } }));
  dir = mkdtempSync(path.join(os.tmpdir(), 'rotor-local-fn-'));
  bundlePath = path.join(dir, 'index.js');
  writeFileSync(bundlePath, BUNDLE);
  process.env.LEAK_CHECK = 'this must not reach the function';
});
afterAll(async () => {
  delete process.env.LEAK_CHECK;
  await local.idle();
  sm.destroy();
  await local.stop();
  rmSync(dir, { recursive: true, force: true });
});

function trace(file: string): { step: string; pid: number; invocations: number; remaining: number; functionName: string; env: Record<string, unknown> }[] {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

function registerBundle(name: string, env: Record<string, string>, timeoutMs?: number): { arn: string; traceFile: string } {
  const traceFile = path.join(dir, `${name}.trace`);
  const arn = local.lambdaArn(name);
  local.registerRotationFunction(arn, { kind: 'child-process', bundlePath, env: { TRACE_FILE: traceFile, ...env }, timeoutMs });
  return { arn, traceFile };
}

async function rotate(fnArn: string): Promise<{ secretArn: string; versionId: string; end: Awaited<ReturnType<LocalSecretsManager['waitForRotation']>> }> {
  const s = await sm.send(new CreateSecretCommand({ Name: uniqueName('child'), SecretString: '{"username":"app","password":"old"}', ClientRequestToken: token() }));
  const r = await sm.send(new RotateSecretCommand({ SecretId: s.ARN, RotationLambdaARN: fnArn }));
  const end = await local.waitForRotation(s.ARN!, { versionId: r.VersionId, timeoutMs: 20_000 });
  return { secretArn: s.ARN!, versionId: r.VersionId!, end };
}

test('rotates through a child process with a Lambda-like environment, kept warm between invocations', async () => {
  const { arn, traceFile } = registerBundle('child-ok', { OWN_SETTING: 'from registration' });
  const first = await rotate(arn);
  expect(first.end.eventName).toBe('RotationSucceeded');
  expect(versionWith(await labels(sm, first.secretArn), 'AWSCURRENT')).toBe(first.versionId);
  expect(JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: first.secretArn }))).SecretString!).password).toHaveLength(20);

  const second = await rotate(arn);
  expect(second.end.eventName).toBe('RotationSucceeded');
  const t = trace(traceFile);
  expect(t.map((x) => x.step)).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret', 'createSecret', 'setSecret', 'testSecret', 'finishSecret']);
  // One warm process served all eight invocations.
  expect(new Set(t.map((x) => x.pid)).size).toBe(1);
  expect(t[7].invocations).toBe(8);
  expect(t[0].env).toEqual({
    endpoint: local.endpoint,
    region: 'us-east-1',
    fn: 'child-ok',
    key: 'local',
    leaked: null,
    own: 'from registration',
  });
  expect(t[0].functionName).toBe('child-ok');
  expect(t[0].remaining).toBeGreaterThan(25_000);
});

test('killRotationProcess ends the warm process; the next invocation starts a new one (cold start)', async () => {
  const { arn, traceFile } = registerBundle('child-kill', {});
  await rotate(arn);
  local.killRotationProcess(arn);
  await rotate(arn);
  const pids = [...new Set(trace(traceFile).map((x) => x.pid))];
  expect(pids).toHaveLength(2);
});

test('an error thrown by the handler fails the step with its name and message', async () => {
  const { arn } = registerBundle('child-throw', { BEHAVIOUR: 'throw' });
  const { end } = await rotate(arn);
  expect(end).toMatchObject({ eventName: 'RotationFailed', attempt: 2, step: 'testSecret', errorType: 'DatabaseError', errorMessage: 'cannot connect to db' });
});

test('an invocation past timeoutMs kills the process and fails with Sandbox.Timedout; the retry gets a new process', async () => {
  const { arn, traceFile } = registerBundle('child-hang', { BEHAVIOUR: 'hang' }, 700);
  const { end } = await rotate(arn);
  expect(end).toMatchObject({ eventName: 'RotationFailed', step: 'setSecret', errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 0.70 seconds' });
  const failures = local.events({ secretId: end.secretArn }).filter((e) => e.eventName === 'RotationFailed');
  expect(failures.map((e) => e.errorType)).toEqual(['Sandbox.Timedout', 'Sandbox.Timedout']);
  expect(new Set(trace(traceFile).map((x) => x.pid)).size).toBe(2);
});

test('a process that dies mid-invocation fails the step with Runtime.ExitError', async () => {
  const { arn } = registerBundle('child-crash', { BEHAVIOUR: 'crash' });
  const { end } = await rotate(arn);
  expect(end).toMatchObject({ eventName: 'RotationFailed', step: 'setSecret', errorType: 'Runtime.ExitError' });
  expect(end.errorMessage).toContain('exit status 3');
});

test('a bundle that cannot load, or has no handler, fails like Lambda init errors', async () => {
  const broken = path.join(dir, 'broken.js');
  writeFileSync(broken, 'throw new Error("syntax or import trouble");');
  const noHandler = path.join(dir, 'nohandler.js');
  writeFileSync(noHandler, 'exports.other = () => 1;');
  local.registerRotationFunction(local.lambdaArn('broken'), { kind: 'child-process', bundlePath: broken });
  local.registerRotationFunction(local.lambdaArn('nohandler'), { kind: 'child-process', bundlePath: noHandler });
  local.registerRotationFunction(local.lambdaArn('missing'), { kind: 'child-process', bundlePath: path.join(dir, 'missing.js') });
  expect((await rotate(local.lambdaArn('broken'))).end).toMatchObject({ errorType: 'Runtime.ImportModuleError' });
  expect((await rotate(local.lambdaArn('nohandler'))).end).toMatchObject({ errorType: 'Runtime.HandlerNotFound' });
  expect((await rotate(local.lambdaArn('missing'))).end).toMatchObject({ errorType: 'Runtime.ImportModuleError' });
});

test('nodePath: the bundle runs under that Node binary (the Lambda runtime\'s major in CI); a relative path is refused', async () => {
  // A "Node binary" that records that it ran, then hands over to this process's Node.
  const marker = path.join(dir, 'node-wrapper.ran');
  const wrapper = path.join(dir, 'node-wrapper');
  writeFileSync(wrapper, `#!/bin/sh\necho "$$" >> ${JSON.stringify(marker)}\nexec ${JSON.stringify(process.execPath)} "$@"\n`, { mode: 0o755 });
  const traceFile = path.join(dir, 'child-node-path.trace');
  const arn = local.lambdaArn('child-node-path');
  local.registerRotationFunction(arn, { kind: 'child-process', bundlePath, env: { TRACE_FILE: traceFile }, nodePath: wrapper });
  const r = await rotate(arn);
  expect(r.end.eventName).toBe('RotationSucceeded');
  const ran = readFileSync(marker, 'utf8').trim().split('\n');
  // One warm process (exec keeps the pid), started through the wrapper, served the four steps.
  expect(ran).toHaveLength(1);
  expect(trace(traceFile).map((x) => x.pid)).toEqual(Array(4).fill(Number(ran[0])));

  expect(() => local.registerRotationFunction(local.lambdaArn('child-relative-node'), { kind: 'child-process', bundlePath, nodePath: 'node' }))
    .toThrow(/nodePath must be absolute: node/);
});
