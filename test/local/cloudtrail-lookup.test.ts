import * as http from 'node:http';
import { CloudTrailClient, LookupEventsCommand, paginateLookupEvents, type Event } from '@aws-sdk/client-cloudtrail';
import { CreateSecretCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { LocalSecretsManager, localClientConfig } from '../../local';

/** The local endpoint's CloudTrail LookupEvents, through the real CloudTrail SDK client. */
let local: LocalSecretsManager;
let sm: SecretsManagerClient;
let ct: CloudTrailClient;
let okArn: string;
let badArn: string;

beforeAll(async () => {
  local = await LocalSecretsManager.start({ port: 0, rotation: { maxAttempts: 2, initialBackoffMs: 5, maxBackoffMs: 10 } });
  sm = new SecretsManagerClient(localClientConfig(local.endpoint, local.region));
  ct = new CloudTrailClient({ ...localClientConfig(local.endpoint, local.region), maxAttempts: 1 });
  const okFn = local.lambdaArn('ok-fn');
  local.registerRotationFunction(okFn, {
    kind: 'in-process',
    handler: async (e) => {
      const ev = e as { Step: string; SecretId: string; ClientRequestToken: string };
      if (ev.Step === 'createSecret') {
        const { PutSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
        await sm.send(new PutSecretValueCommand({ SecretId: ev.SecretId, ClientRequestToken: ev.ClientRequestToken, SecretString: '{"v":2}', VersionStages: ['AWSPENDING'] }));
      }
      if (ev.Step === 'finishSecret') {
        const { DescribeSecretCommand, UpdateSecretVersionStageCommand } = await import('@aws-sdk/client-secrets-manager');
        const d = await sm.send(new DescribeSecretCommand({ SecretId: ev.SecretId }));
        const cur = Object.entries(d.VersionIdsToStages ?? {}).find(([, s]) => s.includes('AWSCURRENT'))![0];
        await sm.send(new UpdateSecretVersionStageCommand({ SecretId: ev.SecretId, VersionStage: 'AWSCURRENT', MoveToVersionId: ev.ClientRequestToken, RemoveFromVersionId: cur }));
      }
    },
  });
  const badFn = local.lambdaArn('bad-fn');
  local.registerRotationFunction(badFn, {
    kind: 'in-process',
    handler: async (e) => {
      if ((e as { Step: string }).Step === 'setSecret') throw new Error('setSecret: [network] could not reach db.example:5432 (code ECONNREFUSED). Open the security group.');
    },
  });
  okArn = (await sm.send(new CreateSecretCommand({ Name: 'ct/ok', SecretString: '{"v":1}' }))).ARN!;
  badArn = (await sm.send(new CreateSecretCommand({ Name: 'ct/bad', SecretString: '{"v":1}' }))).ARN!;
  const r1 = await sm.send(new RotateSecretCommand({ SecretId: okArn, RotationLambdaARN: okFn, RotationRules: { AutomaticallyAfterDays: 30 } }));
  expect((await local.waitForRotation(okArn, { versionId: r1.VersionId })).eventName).toBe('RotationSucceeded');
  const r2 = await sm.send(new RotateSecretCommand({ SecretId: badArn, RotationLambdaARN: badFn, RotationRules: { AutomaticallyAfterDays: 30 } }));
  expect((await local.waitForRotation(badArn, { versionId: r2.VersionId })).eventName).toBe('RotationFailed');
});

afterAll(async () => {
  await local?.stop();
  sm?.destroy();
  ct?.destroy();
});

const record = (e: Event) => JSON.parse(e.CloudTrailEvent!) as Record<string, any>;

test('RotationFailed by EventName: the record Secrets Manager writes (AwsServiceEvent, SecretId in additionalEventData, errorMessage with the step)', async () => {
  const out = await ct.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'RotationFailed' }] }));
  expect(out.Events).toHaveLength(2); // two attempts
  for (const e of out.Events!) {
    expect(e).toMatchObject({ EventName: 'RotationFailed', EventSource: 'secretsmanager.amazonaws.com', ReadOnly: 'false' });
    expect(e.EventTime).toBeInstanceOf(Date);
    const r = record(e);
    expect(r).toMatchObject({
      eventType: 'AwsServiceEvent', eventSource: 'secretsmanager.amazonaws.com', eventName: 'RotationFailed',
      awsRegion: local.region, recipientAccountId: local.accountId, requestParameters: null,
      additionalEventData: { SecretId: badArn }, userIdentity: { invokedBy: 'secretsmanager.amazonaws.com' },
    });
    expect(r.errorMessage).toMatch(/^Error when executing lambda during setSecret step: setSecret: \[network\] could not reach/);
    expect(r.eventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Math.abs(Date.parse(r.eventTime) - e.EventTime!.getTime())).toBe(0);
  }
});

test('every lifecycle event, newest first, paginated with MaxResults/NextToken; EventSource lookup', async () => {
  const all: Event[] = [];
  for await (const page of paginateLookupEvents({ client: ct, pageSize: 2 }, { LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: 'secretsmanager.amazonaws.com' }], MaxResults: 2 })) {
    expect((page.Events ?? []).length).toBeLessThanOrEqual(2);
    all.push(...(page.Events ?? []));
  }
  const ofOk = all.filter((e) => record(e).additionalEventData.SecretId === okArn).map((e) => e.EventName);
  expect(ofOk).toEqual(['RotationSucceeded', 'RotationStarted']);
  const ofBad = all.filter((e) => record(e).additionalEventData.SecretId === badArn).map((e) => e.EventName);
  expect(ofBad).toEqual(['RotationFailed', 'RotationStarted', 'RotationFailed', 'RotationStarted']);
  const times = all.map((e) => e.EventTime!.getTime());
  expect([...times].sort((a, b) => b - a)).toEqual(times);
  expect(new Set(all.map((e) => e.EventId)).size).toBe(all.length);
});

test('time window; ResourceName finds nothing (rotation records list no resources); errors as CloudTrail names them', async () => {
  const future = new Date(Date.now() + 3_600_000);
  expect((await ct.send(new LookupEventsCommand({ StartTime: future }))).Events).toEqual([]);
  expect((await ct.send(new LookupEventsCommand({ EndTime: new Date(Date.now() - 3_600_000) }))).Events).toEqual([]);
  expect((await ct.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: badArn }] }))).Events).toEqual([]);
  await expect(ct.send(new LookupEventsCommand({ StartTime: future, EndTime: new Date() }))).rejects.toMatchObject({ name: 'InvalidTimeRangeException' });
  await expect(ct.send(new LookupEventsCommand({ MaxResults: 51 }))).rejects.toMatchObject({ name: 'InvalidMaxResultsException' });
  await expect(ct.send(new LookupEventsCommand({
    LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'a' }, { AttributeKey: 'EventName', AttributeValue: 'b' }],
  }))).rejects.toMatchObject({ name: 'InvalidLookupAttributesException' });
  await expect(ct.send(new LookupEventsCommand({ NextToken: 'bm90LWEtdG9rZW4=' }))).rejects.toMatchObject({ name: 'InvalidNextTokenException' });
});

test('the local-only guard applies to the CloudTrail target too: a browser request is refused', async () => {
  const url = new URL(local.endpoint);
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, method: 'POST', path: '/',
      headers: {
        'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents',
        Origin: 'http://attacker.example',
      },
    }, (r) => {
      let body = '';
      r.on('data', (c) => (body += c));
      r.on('end', () => resolve({ status: r.statusCode!, body }));
    });
    req.on('error', reject);
    req.end('{}');
  });
  expect(res.status).toBe(403);
  expect(res.body).toMatch(/CrossOriginRequestRefused/);
  expect(res.body).not.toMatch(/RotationFailed/);
});
