/**
 * The operator IAM policy that docs/cli.md gives is enough for every command, and no wider than
 * it says: each AWS command runs against the local stack while the endpoint records every call
 * it receives; each call, and what AWS checks along with it (RotateSecret: lambda:InvokeFunction
 * on the rotation function; BatchGetSecretValue: GetSecretValue on each secret), is evaluated
 * against the documented policy with @cloud-copilot/iam-simulate (test-only, AGPL-3.0; see
 * test/infra/policy-wiring.ts) with the secret's tags as aws:ResourceTag context.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DescribeSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { InterceptedCall } from '../../local/secrets-manager/faults';
import { MANAGED, ROOT, password, rotor, startCliStack, type CliStack } from './cli-kit';

jest.setTimeout(120_000);

let stack: CliStack;
const calls: Array<{ command: string; op: string; input: Record<string, unknown> }> = [];
let running = '';

/** The JSON block that follows the operator-policy marker in docs/cli.md. */
function documentedPolicy(functionArn: string): Record<string, unknown> {
  const doc = readFileSync(path.join(ROOT, 'docs/cli.md'), 'utf8');
  const m = /<!-- operator-policy:[^>]*-->\s*```json\n([\s\S]*?)\n```/.exec(doc);
  if (!m) throw new Error('docs/cli.md has no operator-policy JSON block');
  return JSON.parse(m[1].split('<RotationFunctionArn>').join(functionArn)) as Record<string, unknown>;
}

/** The commands the CLI defines with AWS options (withAws(...)), read from its source. */
function awsCommands(): string[] {
  const src = readFileSync(path.join(ROOT, 'cli/program.ts'), 'utf8');
  return [...src.matchAll(/withAws\(program\s*\.command\('([a-z-]+)'\)/g)].map((m) => m[1]);
}

beforeAll(async () => {
  stack = await startCliStack({});
  const base = { engine: 'postgres', host: '127.0.0.1', port: 9, dbname: 'app' };
  const master = await stack.createSecret('ops/master', { ...base, username: 'admin', password: password() }, []);
  const app = await stack.createSecret('ops/app', { ...base, username: 'app', password: password(), masterarn: master });
  await stack.createSecret('ops/unmanaged', { ...base, username: 'other', password: password() }, []);
  await stack.configure(app, stack.failingFn);
  // A rotation under way (its function never ends): status reads its AWSPENDING's age.
  const busy = await stack.createSecret('ops/busy', { ...base, username: 'busy', password: password() });
  await stack.sm.send(new RotateSecretCommand({ SecretId: busy, RotationLambdaARN: stack.hangingFn, RotationRules: { AutomaticallyAfterDays: 30 } }));
  stack.local.faults.setInterceptor((c: InterceptedCall) => {
    if (c.phase === 'before' && running) calls.push({ command: running, op: c.op, input: c.input });
  });
});

afterAll(async () => {
  stack.local.faults.setInterceptor(undefined);
  await stack?.stop();
});

/** Runs the CLI and keeps the AWS calls it made. */
async function run(args: string[]): Promise<number> {
  running = args[0];
  try {
    return (await rotor(args, stack.env)).code;
  } finally {
    running = '';
  }
}

test('every AWS call of every command is allowed by the operator policy in docs/cli.md', async () => {
  // Each command once, the way an operator uses it (exit codes are not the point here:
  // doctor and usage fail at the unreachable database after their AWS calls).
  await run(['status']);
  await run(['status', '--all', '--values']);
  await run(['history', 'ops/app']);
  await run(['rotate', 'ops/app', '--wait', '--timeout', '30']);
  await run(['rotate', '--tag', 'rotor:managed-by=cli-test']);
  await run(['doctor', 'ops/app', '--timeout', '300']);
  await run(['usage', 'ops/app', '--timeout', '300']);
  expect([...new Set(calls.map((c) => c.command))].sort()).toEqual([...awsCommands()].sort());

  const described = new Map<string, { arn: string; tags: Record<string, string>; lambda?: string }>();
  const secret = async (id: string) => {
    if (!described.has(id)) {
      const d = await stack.sm.send(new DescribeSecretCommand({ SecretId: id }));
      described.set(id, { arn: d.ARN!, tags: Object.fromEntries((d.Tags ?? []).map((t) => [t.Key!, t.Value!])), lambda: d.RotationLambdaARN });
    }
    return described.get(id)!;
  };
  const everySecret = await Promise.all(['ops/master', 'ops/app', 'ops/unmanaged', 'ops/busy'].map(secret));

  // What AWS authorizes for each recorded call.
  const requests: Array<{ command: string; action: string; resource: string; tags?: Record<string, string> }> = [];
  for (const c of calls) {
    if (c.op === 'CloudTrail.LookupEvents') {
      requests.push({ command: c.command, action: 'cloudtrail:LookupEvents', resource: '*' });
      continue;
    }
    const action = `secretsmanager:${c.op}`;
    const id = c.input.SecretId as string | undefined;
    if (id) {
      const s = await secret(id);
      requests.push({ command: c.command, action, resource: s.arn, tags: s.tags });
      if (c.op === 'RotateSecret') requests.push({ command: c.command, action: 'lambda:InvokeFunction', resource: s.lambda! });
    } else {
      requests.push({ command: c.command, action, resource: '*' });
      if (c.op === 'BatchGetSecretValue') {
        const ids = (c.input.SecretIdList as string[] | undefined) ?? everySecret.map((s) => s.arn);
        for (const s of await Promise.all(ids.map(secret))) requests.push({ command: c.command, action: 'secretsmanager:GetSecretValue', resource: s.arn, tags: s.tags });
      }
    }
  }
  expect(new Set(requests.map((r) => r.action))).toEqual(new Set([
    'secretsmanager:ListSecrets', 'secretsmanager:ListSecretVersionIds', 'secretsmanager:BatchGetSecretValue',
    'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:RotateSecret',
    'lambda:InvokeFunction', 'cloudtrail:LookupEvents',
  ]));

  const policy = documentedPolicy(stack.failingFn);
  const verdicts = await Promise.all(requests.map(async (r) => ({ ...r, tags: undefined, verdict: await evaluate(policy, r.action, r.resource, r.tags) })));
  expect(verdicts.filter((v) => v.verdict !== 'Allowed')).toEqual([]);

  // And no wider than documented: RotateSecret only on rotor-managed secrets, InvokeFunction only on the named function.
  const unmanaged = await secret('ops/unmanaged');
  expect(unmanaged.tags[MANAGED.Key]).toBeUndefined();
  expect(await evaluate(policy, 'secretsmanager:RotateSecret', unmanaged.arn, unmanaged.tags)).toBe('ImplicitlyDenied');
  expect(await evaluate(policy, 'lambda:InvokeFunction', stack.realFn)).toBe('ImplicitlyDenied');
});

async function evaluate(policy: Record<string, unknown>, action: string, resource: string, tags: Record<string, string> = {}): Promise<string> {
  const account = stack.local.accountId;
  const principal = `arn:aws:iam::${account}:role/operator`;
  const context: Record<string, string> = { 'aws:SecureTransport': 'true', 'aws:PrincipalArn': principal, 'aws:PrincipalAccount': account };
  for (const [k, v] of Object.entries(tags)) context[`aws:ResourceTag/${k}`] = v;
  const result = await runSimulation({
    request: { principal, action, resource: { resource, accountId: account }, contextVariables: context },
    identityPolicies: [{ name: 'operator', policy }] as never,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: undefined,
  }, {});
  const r = result as unknown as { errors?: unknown; result?: { analysis?: { result?: string } } };
  if (r.errors || !r.result?.analysis?.result) throw new Error(`simulation failed for ${action} on ${resource}: ${JSON.stringify(r.errors ?? r)}`);
  return r.result.analysis.result;
}
