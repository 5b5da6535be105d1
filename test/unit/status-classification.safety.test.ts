import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListSecretsCommand, ListSecretVersionIdsCommand, type SecretListEntry, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { collectStatus, type StatusOptions, type StatusRow } from '../../cli/commands/status';

/**
 * `rotor status` classification (cli/commands/status.ts toRow and the Security Hub controls),
 * fed ListSecrets entries as Secrets Manager returns them
 * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html).
 * The client answers ListSecrets and ListSecretVersionIds from the entries given;
 * CloudTrail (only asked when a secret has a foreign AWSPENDING) is a loopback server that denies.
 */
const NOW = Date.parse('2026-06-15T12:00:00Z');
const DAY = 86_400_000;
const MANAGED = { Key: 'rotor:managed-by', Value: 'dep' };

function client(entries: SecretListEntry[], versionCreated: Record<string, Date> = {}): SecretsManagerClient {
  return {
    send: async (cmd: unknown) => {
      if (cmd instanceof ListSecretsCommand) return { SecretList: entries };
      if (cmd instanceof ListSecretVersionIdsCommand) {
        return { Versions: Object.entries(versionCreated).map(([VersionId, CreatedDate]) => ({ VersionId, CreatedDate })) };
      }
      throw new Error(`unexpected command ${(cmd as object).constructor.name}`);
    },
  } as unknown as SecretsManagerClient;
}

let cloudTrail: http.Server;
/** What LookupEvents answers; undefined: AccessDenied. */
let cloudTrailEvents: unknown[] | undefined;
afterEach(() => { cloudTrailEvents = undefined; });
let endpointUrl: string;
beforeAll(async () => {
  cloudTrail = http.createServer((req, res) => {
    req.resume();
    if (cloudTrailEvents) {
      // LookupEvents (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html), one page.
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ Events: cloudTrailEvents }));
      return;
    }
    res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify({ __type: 'AccessDeniedException', message: 'denied' }));
  });
  await new Promise<void>((r) => cloudTrail.listen(0, '127.0.0.1', r));
  endpointUrl = `http://127.0.0.1:${(cloudTrail.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => cloudTrail.close(() => r()));
});

function entry(name: string, o: Partial<SecretListEntry> = {}): SecretListEntry {
  return {
    ARN: `arn:aws:secretsmanager:us-east-1:111122223333:secret:${name}-AbCdEf`, Name: name,
    Tags: [MANAGED], RotationEnabled: true, RotationLambdaARN: 'arn:aws:lambda:us-east-1:111122223333:function:rotor',
    LastRotatedDate: new Date(NOW - DAY), NextRotationDate: new Date(NOW + 29 * DAY), CreatedDate: new Date(NOW - 200 * DAY),
    LastAccessedDate: new Date(NOW - DAY),
    SecretVersionsToStages: { v1: ['AWSCURRENT'] },
    ...o,
  };
}

async function rows(entries: SecretListEntry[], opts: Partial<StatusOptions> = {}, versions: Record<string, Date> = {}, notes: string[] = []): Promise<Record<string, StatusRow>> {
  const out = await collectStatus(client(entries, versions), { ownerTag: 'owner', stuckAfter: 60, endpointUrl, ...opts }, NOW, notes);
  return Object.fromEntries(out.map((r) => [r.name, r]));
}

describe('rotor status: the state of each secret', () => {
  test('rotated, next rotation beyond a week: ok, with engine, strategy and owner from the tags', async () => {
    const r = (await rows([entry('a', { Tags: [MANAGED, { Key: 'rotor:engine', Value: 'postgres' }, { Key: 'rotor:strategy', Value: 'single-user' }, { Key: 'owner', Value: 'team-a' }] })]))['a'];
    expect(r).toMatchObject({ state: 'ok', detail: '', engine: 'postgres', strategy: 'single-user', owner: 'team-a' });
    expect(r.lastRotated).toBe(new Date(NOW - DAY).toISOString());
    expect(r.nextRotation).toBe(new Date(NOW + 29 * DAY).toISOString());
  });

  test('rotation off: rotation-disabled, saying whether it was ever configured', async () => {
    const r = await rows([
      entry('off', { RotationEnabled: false }),
      entry('never', { RotationEnabled: undefined, RotationLambdaARN: undefined }),
    ]);
    expect(r.off).toMatchObject({ state: 'rotation-disabled', detail: 'rotation was turned off' });
    expect(r.never).toMatchObject({ state: 'rotation-disabled', detail: 'no rotation configured' });
  });

  test('next rotation date passed: overdue, even if never rotated', async () => {
    const r = await rows([
      entry('late', { NextRotationDate: new Date(NOW - 2 * DAY) }),
      entry('late-never', { NextRotationDate: new Date(NOW - 1), LastRotatedDate: undefined }),
    ]);
    expect(r.late).toMatchObject({ state: 'overdue', detail: 'next rotation was due 2d ago' });
    expect(r['late-never'].state).toBe('overdue');
  });

  test('the next rotation date being now is not overdue yet', async () => {
    expect((await rows([entry('edge', { NextRotationDate: new Date(NOW) })])).edge.state).toBe('due-soon');
  });

  test('rotation configured but never completed: never-rotated', async () => {
    const r = (await rows([entry('fresh', { LastRotatedDate: undefined })])).fresh;
    expect(r).toMatchObject({ state: 'never-rotated', detail: 'rotation is configured but has not completed yet' });
    expect(r.lastRotated).toBeUndefined();
  });

  test('next rotation within 7 days: due-soon; exactly 7 days ahead or without a date: ok', async () => {
    const r = await rows([
      entry('soon', { NextRotationDate: new Date(NOW + 3 * DAY) }),
      entry('week', { NextRotationDate: new Date(NOW + 7 * DAY) }),
      entry('nodate', { NextRotationDate: undefined }),
    ]);
    expect(r.soon).toMatchObject({ state: 'due-soon', detail: 'next rotation in 3d' });
    expect(r.week.state).toBe('ok');
    expect(r.nodate.state).toBe('ok');
  });

  test('AWSPENDING on another version than AWSCURRENT: rotating, whatever else is true', async () => {
    const notes: string[] = [];
    const r = await rows([
      entry('mid', { SecretVersionsToStages: { v1: ['AWSCURRENT'], v2: ['AWSPENDING'] }, RotationEnabled: false, NextRotationDate: new Date(NOW - DAY) }),
    ], {}, { v2: new Date(NOW - 5 * 60_000) }, notes);
    expect(r.mid).toMatchObject({ state: 'rotating', pendingVersionId: 'v2', pendingMinutes: 5 });
    // CloudTrail denied: the state stays rotating and a note says why.
    expect(notes.join('\n')).toMatch(/could not read rotation failures from CloudTrail/);
  });

  test('AWSPENDING on the AWSCURRENT version is not a rotation in progress', async () => {
    const r = (await rows([entry('same', { SecretVersionsToStages: { v1: ['AWSCURRENT', 'AWSPENDING'] } })])).same;
    expect(r.state).toBe('ok');
    expect(r.pendingVersionId).toBeUndefined();
  });

  test('only managed, undeleted secrets without --all; the name falls back to the ARN', async () => {
    const noName = entry('x', { Name: undefined });
    const r = await rows([entry('mine'), entry('other', { Tags: [] }), entry('gone', { DeletedDate: new Date(NOW) }), noName]);
    expect(Object.keys(r).sort()).toEqual(['mine', noName.ARN!].sort());
  });
});

describe('rotor status --all: Security Hub Secrets Manager controls', () => {
  const controls = async (o: Partial<SecretListEntry>, opts: Partial<StatusOptions> = {}) => (await rows([entry('s', o)], { all: true, ...opts })).s.controls;

  test('rotated, used, on schedule: every control passes', async () => {
    expect(await controls({})).toEqual({ 'SecretsManager.1': 'PASSED', 'SecretsManager.2': 'PASSED', 'SecretsManager.3': 'PASSED', 'SecretsManager.4': 'PASSED' });
  });

  test('SecretsManager.1 fails without rotation, and .2 is then not applicable', async () => {
    expect(await controls({ RotationEnabled: false })).toMatchObject({ 'SecretsManager.1': 'FAILED', 'SecretsManager.2': 'NOT_APPLICABLE' });
  });

  test('SecretsManager.2 fails when the rotation is overdue', async () => {
    expect((await controls({ NextRotationDate: new Date(NOW - DAY) }))!['SecretsManager.2']).toBe('FAILED');
  });

  test('SecretsManager.3: unused for more than --unused-days (default 90) fails; never accessed counts from creation', async () => {
    expect((await controls({ LastAccessedDate: new Date(NOW - 91 * DAY) }))!['SecretsManager.3']).toBe('FAILED');
    expect((await controls({ LastAccessedDate: new Date(NOW - 90 * DAY) }))!['SecretsManager.3']).toBe('PASSED');
    expect((await controls({ LastAccessedDate: new Date(NOW - 20 * DAY) }, { unusedDays: 10 }))!['SecretsManager.3']).toBe('FAILED');
    expect((await controls({ LastAccessedDate: undefined, CreatedDate: new Date(NOW - 100 * DAY) }))!['SecretsManager.3']).toBe('FAILED');
    expect((await controls({ LastAccessedDate: undefined, CreatedDate: new Date(NOW - 10 * DAY) }))!['SecretsManager.3']).toBe('PASSED');
  });

  test('SecretsManager.4: not rotated for more than --max-age-days (default 90) fails; never rotated counts from creation', async () => {
    expect((await controls({ LastRotatedDate: new Date(NOW - 91 * DAY) }))!['SecretsManager.4']).toBe('FAILED');
    expect((await controls({ LastRotatedDate: new Date(NOW - 90 * DAY) }))!['SecretsManager.4']).toBe('PASSED');
    expect((await controls({ LastRotatedDate: new Date(NOW - 20 * DAY) }, { maxAgeDays: 10 }))!['SecretsManager.4']).toBe('FAILED');
    expect((await controls({ LastRotatedDate: undefined, CreatedDate: new Date(NOW - 100 * DAY) }))!['SecretsManager.4']).toBe('FAILED');
    expect((await controls({ LastRotatedDate: undefined, CreatedDate: new Date(NOW - 10 * DAY) }))!['SecretsManager.4']).toBe('PASSED');
  });

  test('no creation date: the clock starts now, so nothing is unused or unrotated yet', async () => {
    expect(await controls({ LastAccessedDate: undefined, LastRotatedDate: undefined, CreatedDate: undefined, NextRotationDate: new Date(NOW + 30 * DAY) }))
      .toMatchObject({ 'SecretsManager.3': 'PASSED', 'SecretsManager.4': 'PASSED' });
  });

  test('without --all no controls are evaluated', async () => {
    expect((await rows([entry('s')])).s.controls).toBeUndefined();
  });
});

describe('rotor status: a failed rotation (CloudTrail RotationFailed)', () => {
  const failedEvent = (secretArn: string, at: number) => ({
    EventId: 'e1', EventName: 'RotationFailed', EventTime: at / 1000,
    CloudTrailEvent: JSON.stringify({
      eventSource: 'secretsmanager.amazonaws.com', eventName: 'RotationFailed', eventTime: new Date(at).toISOString(), eventID: 'e1',
      additionalEventData: { SecretId: secretArn }, errorMessage: 'createSecret: [network] the database did not answer',
    }),
  });

  test('failed: the state, and SecretsManager.2 fails', async () => {
    const e = entry('broken', { SecretVersionsToStages: { v1: ['AWSCURRENT'], v2: ['AWSPENDING'] } });
    cloudTrailEvents = [failedEvent(e.ARN!, NOW - 3_600_000)];
    const r = (await rows([e], { all: true }, { v2: new Date(NOW - 2 * 3_600_000) }))['broken'];
    expect(r.state).toBe('failed');
    expect(r.failure).toMatchObject({ event: 'RotationFailed', step: 'createSecret', category: 'network' });
    expect(r.controls).toMatchObject({ 'SecretsManager.1': 'PASSED', 'SecretsManager.2': 'FAILED' });
  });
});
