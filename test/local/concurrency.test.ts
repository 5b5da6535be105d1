import {
  CreateSecretCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { LocalSecretsManager } from '../../local';
import { HOUR, startLocal, TestClock, token, uniqueName } from './local-test-kit';

/*
 * 200 concurrent writes on one secret: whatever order they land in, a label
 * is never on two versions, AWSCURRENT is always on exactly one, and
 * AWSPREVIOUS is never on the AWSCURRENT version.
 */

let local: LocalSecretsManager;
let sm: SecretsManagerClient;
const clock = new TestClock();

beforeAll(async () => {
  // Every read of the clock moves it on, so the version quota's 24-hour rule lets old versions go.
  ({ local, sm } = await startLocal({
    clock: () => {
      clock.advance(HOUR);
      return clock.now();
    },
  }));
});
afterAll(async () => {
  sm.destroy();
  await local.stop();
});

const LABELS = ['AWSCURRENT', 'AWSPENDING', 'BLUE', 'GREEN'];

test('200 concurrent PutSecretValue / UpdateSecretVersionStage calls never leave a label on two versions', async () => {
  const v1 = token();
  const { ARN } = await sm.send(new CreateSecretCommand({ Name: uniqueName('conc'), SecretString: 'v0', ClientRequestToken: v1 }));
  const known = [v1];
  // Seed a few versions so that stage moves have somewhere to go.
  for (let i = 0; i < 5; i++) {
    const v = token();
    known.push(v);
    await sm.send(new PutSecretValueCommand({ SecretId: ARN, ClientRequestToken: v, SecretString: `seed${i}`, VersionStages: [LABELS[i % LABELS.length]] }));
  }
  const current = async (label: string) => {
    const out = await sm.send(new ListSecretVersionIdsCommand({ SecretId: ARN, IncludeDeprecated: true }));
    return out.Versions!.find((v) => v.VersionStages?.includes(label))?.VersionId;
  };
  const holders = await Promise.all(LABELS.map(current));

  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < 200; i++) {
    const label = LABELS[i % LABELS.length];
    if (i % 2 === 0) {
      const v = token();
      known.push(v);
      calls.push(
        sm.send(new PutSecretValueCommand({ SecretId: ARN, ClientRequestToken: v, SecretString: `value ${i}`, VersionStages: i % 3 === 0 ? undefined : [label] })),
      );
    } else {
      // Often stale: RemoveFromVersionId is what the label was on when the burst started.
      calls.push(
        sm.send(
          new UpdateSecretVersionStageCommand({
            SecretId: ARN,
            VersionStage: label,
            MoveToVersionId: known[(i * 7) % known.length],
            RemoveFromVersionId: holders[i % LABELS.length],
          }),
        ),
      );
    }
  }
  const results = await Promise.allSettled(calls);
  const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as Error).name);
  // Stale RemoveFromVersionId, or a version not created yet: refused cleanly, never half-applied.
  expect([...new Set(errors)].every((n) => ['InvalidParameterException', 'ResourceNotFoundException', 'LimitExceededException'].includes(n))).toBe(true);
  expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThan(100);

  const versions = (await sm.send(new ListSecretVersionIdsCommand({ SecretId: ARN, IncludeDeprecated: true, MaxResults: 100 }))).Versions!;
  const seen = new Map<string, string[]>();
  for (const v of versions) for (const l of v.VersionStages ?? []) seen.set(l, [...(seen.get(l) ?? []), v.VersionId!]);
  for (const [, holdersOfLabel] of seen) expect(holdersOfLabel).toHaveLength(1);
  expect(seen.get('AWSCURRENT')).toHaveLength(1);
  expect(seen.get('AWSPREVIOUS')?.[0]).not.toBe(seen.get('AWSCURRENT')![0]);
  expect(versions.length).toBeLessThanOrEqual(100);
});
