import { GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { scramVerifier } from '../lambda/rotation/engines/postgres';
import { LocalSecretsManager, localClientConfig } from './local-secrets-manager';
import { LocalRds } from './rds/local-rds';
import type { RotationLifecycleEvent } from './secrets-manager/lifecycle-events';

/** A rotation function bundle `rotor local` runs for RotateSecret, as Lambda would. */
export interface ServedRotationFunction {
  /** A CommonJS bundle exporting `handler`, e.g. dist/rotation/index.js from `npm run build` (relative to the working directory). */
  bundlePath: string;
  /** The function name in its ARN. @default 'rotor-rotation' */
  name?: string;
  /** The function's own environment variables (ROTOR_TLS_MODE, ROTOR_STRATEGY, ...), as set on the Lambda function. */
  env?: Record<string, string>;
  /** Timeout of one step. @default 30000 */
  timeoutMs?: number;
}

/**
 * A DB instance of the local RDS endpoint: a database server on this machine
 * whose master user's password ModifyDBInstance changes.
 */
export interface ServedRdsInstance {
  identifier: string;
  /** PostgreSQL only, for now: see applyMasterPassword. */
  engine: 'postgres';
  host: string;
  port: number;
  masterUsername: string;
}

export interface ServeLocalOptions {
  port: number;
  host?: string;
  statePath?: string;
  region?: string;
  accountId?: string;
  rotationFunction?: ServedRotationFunction;
  /** Also serve the local RDS endpoint (docs/local-rds.md) on this port (0 = any free port). */
  rds?: { port: number; instances?: ServedRdsInstance[]; passwordChangeDelayMs?: number };
}

/**
 * `<id>=postgres://<master user>@<host>:<port>`, e.g. `app-db=postgres://app_master@localhost:5432`
 * (no password: see applyMasterPassword). MySQL and MariaDB instances are not served by
 * `rotor local` yet: changing their master password without its plaintext in the server's
 * logs needs the account's authentication plugin (see lambda/rotation/engines/mysql/password.ts).
 */
export function parseRdsInstance(spec: string): ServedRdsInstance {
  const m = /^([A-Za-z][A-Za-z0-9-]{0,62})=([a-z]+):\/\/([^@:/\s]+)@([^:/\s]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5})\/?$/.exec(spec);
  if (!m || Number(m[5]) < 1 || Number(m[5]) > 65535) {
    throw new Error(`not a DB instance: "${spec}"; expected <id>=postgres://<master user>@<host>:<port>, e.g. app-db=postgres://app_master@localhost:5432`);
  }
  if (m[2] !== 'postgres' && m[2] !== 'postgresql') {
    throw new Error(`not a DB instance rotor local can serve: "${spec}"; only postgres:// instances for now`);
  }
  return { identifier: m[1], engine: 'postgres', host: m[4].replace(/^\[|\]$/g, ''), port: Number(m[5]), masterUsername: m[3] };
}

export const DEFAULT_FUNCTION_NAME = 'rotor-rotation';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * `rotor local`: serves the endpoint (and registers the rotation function, if
 * given) until SIGINT or SIGTERM, then closes cleanly (state file written,
 * child processes stopped). Resolves after shutdown. Throws before serving
 * when the bundle does not exist.
 */
export async function serveLocal(opts: ServeLocalOptions): Promise<void> {
  const fn = opts.rotationFunction;
  const bundlePath = fn ? path.resolve(fn.bundlePath) : undefined;
  if (bundlePath && !(existsSync(bundlePath) && statSync(bundlePath).isFile())) {
    throw new Error(`the rotation function bundle ${bundlePath} does not exist: run \`npm run build\` first (it writes dist/rotation/index.js).`);
  }
  const local = await LocalSecretsManager.start({
    port: opts.port,
    host: opts.host,
    statePath: opts.statePath,
    region: opts.region,
    accountId: opts.accountId,
    // What the function prints is what CloudWatch Logs would show.
    echoFunctionLogs: true,
  });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  let rds: LocalRds | undefined;
  let sm: SecretsManagerClient | undefined;
  if (opts.rds) {
    try {
      rds = await LocalRds.start({
        port: opts.rds.port,
        host: opts.host,
        region: local.region,
        accountId: local.accountId,
        passwordChangeDelayMs: opts.rds.passwordChangeDelayMs,
      });
      const client = (sm = new SecretsManagerClient({ ...localClientConfig(local.endpoint, local.region), maxAttempts: 1 }));
      for (const i of opts.rds.instances ?? []) {
        rds.addInstance({ ...i, applyPassword: (pw) => applyMasterPassword(client, i, pw, say) });
      }
    } catch (e) {
      await rds?.stop();
      await local.stop();
      throw e;
    }
  }
  let functionArn: string | undefined;
  if (fn && bundlePath) {
    functionArn = local.lambdaArn(fn.name ?? DEFAULT_FUNCTION_NAME);
    // The SDK's notice about its future Node 22 requirement is noise here (bin/rotor.ts silences it too).
    // With the RDS endpoint, the function's RDS client goes there (the SDK reads AWS_ENDPOINT_URL_RDS).
    const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...(rds ? { AWS_ENDPOINT_URL_RDS: rds.endpoint } : {}), ...fn.env };
    local.registerRotationFunction(functionArn, { kind: 'child-process', bundlePath, env, timeoutMs: fn.timeoutMs });
  }

  say(`rotor local: Secrets Manager endpoint on ${local.endpoint} (region ${local.region}, account ${local.accountId})`);
  if (opts.host !== undefined && !LOOPBACK.has(opts.host)) {
    say(`  warning: listening on ${opts.host}, not only on this machine; requests are still served only for Host 127.0.0.1, localhost or [::1] (a port forward keeps that).`);
  }
  say(opts.statePath ? `  state file: ${opts.statePath}` : '  state: in memory only (use --state FILE to keep it)');
  if (rds) {
    say(`rotor local: RDS endpoint on ${rds.endpoint} (DescribeDBInstances, DescribeDBClusters, ModifyDBInstance, ModifyDBCluster)`);
    for (const i of opts.rds?.instances ?? []) {
      say(`  DB instance ${i.identifier}: ${i.engine}, master user ${i.masterUsername} at ${i.host}:${i.port} (${rds.instanceArn(i.identifier)})`);
    }
    say(`  export AWS_ENDPOINT_URL_RDS=${rds.endpoint}${functionArn ? '   (the rotation function has it already)' : ''}`);
  }
  if (functionArn && bundlePath) {
    const envNames = Object.keys(fn?.env ?? {});
    say(`  rotation function: ${functionArn}`);
    say(`    runs ${path.relative(process.cwd(), bundlePath) || bundlePath} in a child process${envNames.length ? ` with ${envNames.join(', ')}` : ''}; its output goes to stderr`);
  }
  say('  use it with:');
  say(`    export AWS_ENDPOINT_URL_SECRETS_MANAGER=${local.endpoint}`);
  say(`    aws secretsmanager list-secrets --endpoint-url ${local.endpoint} --region ${local.region}`);
  if (functionArn) {
    say(`    aws secretsmanager rotate-secret --secret-id <name> --rotation-lambda-arn ${functionArn} --rotation-rules AutomaticallyAfterDays=30`);
  }
  say('  any credentials work, but requests must be SigV4-signed (the AWS CLI and SDKs do that); browsers are refused.');
  say(`  control routes: ${local.endpoint}/_rotor/health, /_rotor/events, /_rotor/faults`);
  say('  Ctrl-C to stop.');

  // Rotations run after RotateSecret has answered: say how each one goes.
  let seen = 0;
  let last: string | undefined;
  const report = () => {
    const events = local.events();
    let from = Math.min(seen, events.length);
    if (last !== undefined && from > 0 && JSON.stringify(events[from - 1]) !== last) {
      // The log keeps the latest 10,000 events and dropped older ones: find where printing stopped.
      let i = events.length - 1;
      while (i >= 0 && JSON.stringify(events[i]) !== last) i--;
      from = i + 1;
    }
    for (const e of events.slice(from)) say(describeEvent(e));
    seen = events.length;
    if (events.length > 0) last = JSON.stringify(events[events.length - 1]);
  };
  const ticker = setInterval(report, 250);
  ticker.unref();

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      say(`rotor local: ${signal}, shutting down...`);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  clearInterval(ticker);
  report();
  await rds?.stop();
  sm?.destroy();
  await local.stop();
  say('rotor local: stopped.');
}

/**
 * What RDS does when ModifyDBInstance changes the master password: here, log
 * in as the master user and change its own password (PostgreSQL, as a SCRAM
 * verifier like the rotation function sends it). The current password is
 * the one rotation keeps: AWSCURRENT (else AWSPREVIOUS) of the secret on this
 * endpoint whose `dbInstanceIdentifier` names the instance and whose
 * `username` is the master user, i.e. the rds-master strategy's secret. TLS
 * when the secret's `ssl` asks for it, unverified: RDS itself needs no client
 * certificate check to reach its own database. Neither password is logged.
 */
async function applyMasterPassword(sm: SecretsManagerClient, i: ServedRdsInstance, newPassword: string, say: (line: string) => void): Promise<void> {
  say(`rotor local RDS: changing the master password of ${i.identifier}`);
  try {
    const candidates = await storedMasterCredentials(sm, i);
    if (candidates.length === 0) {
      throw new Error(`no secret on the local endpoint has "dbInstanceIdentifier": "${i.identifier}" and "username": "${i.masterUsername}", so the current master password is unknown`);
    }
    let lastError: Error | undefined;
    for (const c of candidates) {
      try {
        await setOwnPassword(i, c, newPassword);
        say(`rotor local RDS: master password of ${i.identifier} changed (logged in with ${c.stage})`);
        return;
      } catch (e) {
        lastError = e as Error;
        if (!isLoginRefused(e)) break;
      }
    }
    throw new Error(`could not change the master password: ${lastError?.message ?? 'no login'}`);
  } catch (e) {
    say(`rotor local RDS: master password of ${i.identifier} NOT changed: ${(e as Error).message}`);
    throw e;
  }
}

interface StoredCredential {
  stage: 'AWSCURRENT' | 'AWSPREVIOUS';
  password: string;
  dbname?: string;
  ssl: boolean;
}

async function storedMasterCredentials(sm: SecretsManagerClient, i: ServedRdsInstance): Promise<StoredCredential[]> {
  const out: StoredCredential[] = [];
  let next: string | undefined;
  do {
    const page = await sm.send(new ListSecretsCommand({ NextToken: next, MaxResults: 100 }));
    for (const entry of page.SecretList ?? []) {
      for (const stage of ['AWSCURRENT', 'AWSPREVIOUS'] as const) {
        if (!Object.values(entry.SecretVersionsToStages ?? {}).some((stages) => stages.includes(stage))) continue;
        const value = (await sm.send(new GetSecretValueCommand({ SecretId: entry.ARN, VersionStage: stage }))).SecretString;
        let v: Record<string, unknown>;
        try {
          v = JSON.parse(value ?? '') as Record<string, unknown>;
        } catch {
          continue;
        }
        if (v.dbInstanceIdentifier !== i.identifier || v.username !== i.masterUsername || typeof v.password !== 'string') continue;
        const ssl = v.ssl === true || v.ssl === 'require' || v.ssl === 'verify-full';
        out.push({ stage, password: v.password, dbname: typeof v.dbname === 'string' ? v.dbname : undefined, ssl });
      }
    }
    next = page.NextToken;
  } while (next);
  // AWSCURRENT first.
  return out.sort((a, b) => (a.stage === b.stage ? 0 : a.stage === 'AWSCURRENT' ? -1 : 1));
}

async function setOwnPassword(i: ServedRdsInstance, c: StoredCredential, newPassword: string): Promise<void> {
  const { Client, escapeLiteral } = require('pg') as typeof import('pg');
  const client = new Client({
    host: i.host,
    port: i.port,
    user: i.masterUsername,
    password: c.password,
    database: c.dbname ?? 'postgres',
    ssl: c.ssl ? { rejectUnauthorized: false } : false,
    connectionTimeoutMillis: 10_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    // As the rotation function does: a SCRAM-SHA-256 verifier, so the plaintext never reaches the
    // server's statement log (ASCII only; the server applies SASLprep to others).
    const literal = /^[\x00-\x7f]*$/.test(newPassword) ? scramVerifier(newPassword) : newPassword;
    await client.query(`ALTER ROLE CURRENT_USER PASSWORD ${escapeLiteral(literal)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** PostgreSQL SQLSTATE class 28 (invalid_authorization_specification, invalid_password). */
function isLoginRefused(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('28');
}

/** One line per lifecycle event; errors are the function's own messages, which never hold a password. */
function describeEvent(e: RotationLifecycleEvent): string {
  const what = `rotation of ${e.secretName} (version ${e.versionId}, attempt ${e.attempt})`;
  const error = e.errorType ? `: ${e.step ? `${e.step}: ` : ''}${e.errorType}${e.errorMessage ? `: ${e.errorMessage}` : ''}` : '';
  return `rotor local: ${what}: ${e.eventName}${error}${e.final && e.eventName.endsWith('Failed') ? ' (no more attempts)' : ''}`;
}
