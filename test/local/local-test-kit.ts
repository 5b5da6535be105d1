import * as net from 'node:net';
import {
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
  type SecretVersionsListEntry,
} from '@aws-sdk/client-secrets-manager';
import { randomUUID } from 'node:crypto';
import { LocalSecretsManager, localClientConfig, type LocalSecretsManagerOptions, type RotationEvent } from '../../local';

/** A clock the test moves by hand. */
export class TestClock {
  constructor(private t = Date.parse('2030-01-15T10:00:00.000Z')) {}
  readonly now = (): Date => new Date(this.t);
  advance(ms: number): void {
    this.t += ms;
  }
}

export const HOUR = 60 * 60 * 1000;
export const DAY = 24 * HOUR;

export async function startLocal(opts: LocalSecretsManagerOptions = {}): Promise<{ local: LocalSecretsManager; sm: SecretsManagerClient }> {
  const local = await LocalSecretsManager.start({ port: 0, ...opts });
  // No SDK retries: each test sees exactly what the endpoint answered.
  const sm = new SecretsManagerClient({ ...localClientConfig(local.endpoint, local.region), maxAttempts: 1 });
  return { local, sm };
}

export function uniqueName(prefix = 'conf'): string {
  return `${prefix}/${Math.random().toString(36).slice(2, 10)}`;
}

/** A 36-character token, as the SDKs generate. */
export function token(): string {
  return randomUUID();
}

async function allVersions(sm: SecretsManagerClient, secretId: string): Promise<SecretVersionsListEntry[]> {
  const out: SecretVersionsListEntry[] = [];
  let next: string | undefined;
  do {
    const page = await sm.send(new ListSecretVersionIdsCommand({ SecretId: secretId, IncludeDeprecated: true, NextToken: next }));
    out.push(...(page.Versions ?? []));
    next = page.NextToken;
  } while (next);
  return out;
}

/**
 * Everything the API shows about a secret: metadata, every version with its
 * labels, and every value. Values are read first: reading sets
 * LastAccessedDate, which must already be set when the metadata is taken.
 */
export async function snapshot(sm: SecretsManagerClient, secretId: string): Promise<unknown> {
  const versions = await allVersions(sm, secretId);
  const values: Record<string, unknown> = {};
  for (const v of versions) {
    try {
      const got = await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: v.VersionId }));
      values[v.VersionId!] = got.SecretString ?? Buffer.from(got.SecretBinary ?? []).toString('base64');
    } catch (e) {
      values[v.VersionId!] = `(${(e as Error).name})`;
    }
  }
  const { $metadata: _m, ...describe } = await sm.send(new DescribeSecretCommand({ SecretId: secretId }));
  return { describe, versions: await allVersions(sm, secretId), values };
}

/** The call fails with `errorName`, and the secret looks exactly as before. */
export async function expectRejectedWithoutChange(
  sm: SecretsManagerClient,
  secretId: string,
  errorName: string,
  call: () => Promise<unknown>,
): Promise<Error> {
  const before = await snapshot(sm, secretId);
  let caught: unknown;
  try {
    await call();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeDefined();
  expect((caught as Error).name).toBe(errorName);
  expect(await snapshot(sm, secretId)).toEqual(before);
  return caught as Error;
}

/** Labels of every version, as ListSecretVersionIds shows them. */
export async function labels(sm: SecretsManagerClient, secretId: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const v of await allVersions(sm, secretId)) out[v.VersionId!] = v.VersionStages ?? [];
  return out;
}

export function versionWith(map: Record<string, string[]>, label: string): string | undefined {
  return Object.entries(map).find(([, s]) => s.includes(label))?.[0];
}

export interface StepCall {
  event: RotationEvent;
  remainingMs: number;
  functionName: string;
}

/**
 * A minimal, correct rotation function written against the SDK, doing what
 * AWS's reference functions do in each step. `hooks` can fail or hold a step.
 */
export function fakeRotationHandler(
  sm: SecretsManagerClient,
  hooks: { before?: (event: RotationEvent, attempt: number) => Promise<void> | void; calls?: StepCall[]; skipFinish?: boolean } = {},
) {
  const attempts = new Map<string, number>();
  return async (event: RotationEvent, context: { getRemainingTimeInMillis(): number; functionName: string }): Promise<void> => {
    hooks.calls?.push({ event, remainingMs: context.getRemainingTimeInMillis(), functionName: context.functionName });
    const key = `${event.ClientRequestToken}`;
    if (event.Step === 'createSecret') attempts.set(key, (attempts.get(key) ?? 0) + 1);
    await hooks.before?.(event, attempts.get(key) ?? 1);
    const { SecretId, ClientRequestToken: tok } = event;
    const meta = await sm.send(new DescribeSecretCommand({ SecretId }));
    if (meta.RotationEnabled === false) throw new Error('rotation is disabled');
    const stages = meta.VersionIdsToStages?.[tok];
    if (!stages) throw new Error(`version ${tok} is not a version of the secret`);
    if (stages.includes('AWSCURRENT')) return;
    if (!stages.includes('AWSPENDING')) throw new Error(`version ${tok} is not AWSPENDING`);
    switch (event.Step) {
      case 'createSecret': {
        const current = await sm.send(new GetSecretValueCommand({ SecretId, VersionStage: 'AWSCURRENT' }));
        try {
          await sm.send(new GetSecretValueCommand({ SecretId, VersionId: tok, VersionStage: 'AWSPENDING' }));
          return;
        } catch (e) {
          if ((e as Error).name !== 'ResourceNotFoundException') throw e;
        }
        const pw = await sm.send(new GetRandomPasswordCommand({ ExcludeCharacters: ':/@"\'\\' }));
        const value = { ...JSON.parse(current.SecretString ?? '{}'), password: pw.RandomPassword };
        await sm.send(
          new PutSecretValueCommand({
            SecretId,
            ClientRequestToken: tok,
            SecretString: JSON.stringify(value),
            VersionStages: ['AWSPENDING'],
            RotationToken: event.RotationToken,
          }),
        );
        return;
      }
      case 'setSecret':
      case 'testSecret':
        return;
      case 'finishSecret': {
        if (hooks.skipFinish) return;
        const current = Object.entries(meta.VersionIdsToStages ?? {}).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
        await sm.send(new UpdateSecretVersionStageCommand({ SecretId, VersionStage: 'AWSCURRENT', MoveToVersionId: tok, RemoveFromVersionId: current }));
      }
    }
  };
}

/** A promise the test resolves by hand. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/** A syntactically valid SigV4 Authorization header (signatures are not verified locally). */
export function fakeSigV4Headers(region = 'us-east-1', at = new Date()): Record<string, string> {
  const amzDate = at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return {
    'X-Amz-Date': amzDate,
    Authorization: `AWS4-HMAC-SHA256 Credential=local/${amzDate.slice(0, 8)}/${region}/secretsmanager/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}`,
  };
}

/** A raw JSON 1.1 request to the endpoint (signed unless told otherwise). */
export async function rawCall(
  endpoint: string,
  target: string | undefined,
  body: string,
  opts: { headers?: Record<string, string>; unsigned?: boolean; method?: string } = {},
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${endpoint}/`, {
    method: opts.method ?? 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      ...(target ? { 'X-Amz-Target': target } : {}),
      ...(opts.unsigned ? {} : fakeSigV4Headers()),
      ...opts.headers,
    },
    body: opts.method === 'GET' ? undefined : body,
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { raw: text };
  }
  return { status: res.status, json, headers: res.headers };
}

/** Writes raw bytes to the endpoint's socket and returns everything it answers until it closes. */
export function rawSocketExchange(endpoint: string, bytes: string): Promise<string> {
  const url = new URL(endpoint);
  return new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(bytes));
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}
