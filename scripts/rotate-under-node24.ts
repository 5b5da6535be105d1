/**
 * One full rotation per engine (PostgreSQL, MariaDB; single-user and alternating-users) with the
 * bundled function (dist/rotation/index.js) run by another Node binary than this process's: the
 * Lambda runtime's major, 24 (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
 * Exits non-zero on any failure.
 *
 *   npm run build
 *   npx tsx scripts/rotate-under-node24.ts "$(scripts/node24.sh)"
 *
 * The node binary is the first argument (or ROTOR_NODE24). Before rotating, a probe function run
 * the same way reports its own process.version, so a rotation cannot pass under the wrong Node.
 * No password is printed.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateSecretCommand, GetSecretValueCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { LocalSecretsManager, localClientConfig } from '../local';
import { startDemoServer } from '../local/demo-servers';
import type { ChildProcessFunction } from '../local/lambda/invoker';

const ROOT = path.resolve(__dirname, '..');
const BUNDLE = path.join(ROOT, 'dist/rotation/index.js');
const pw = () => randomBytes(16).toString('hex');

async function main(): Promise<number> {
  const nodePath = process.argv[2] ?? process.env.ROTOR_NODE24;
  if (!nodePath || !path.isAbsolute(nodePath) || !existsSync(nodePath)) {
    process.stderr.write('usage: tsx scripts/rotate-under-node24.ts <absolute path of a node binary>  (e.g. "$(scripts/node24.sh)")\n');
    return 2;
  }
  if (!existsSync(BUNDLE)) {
    process.stderr.write(`no bundle at ${BUNDLE}: run npm run build first\n`);
    return 2;
  }
  const wanted = execFileSync(nodePath, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
  const local = await LocalSecretsManager.start({ port: 0, rotation: { maxAttempts: 1 } });
  const sm = new SecretsManagerClient(localClientConfig(local.endpoint, local.region));
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rotor-node24-'));
  let failures = 0;
  try {
    // The probe: a function that fails with its own Node version, run exactly like the bundle.
    const probe = path.join(tmp, 'probe.cjs');
    writeFileSync(probe, "exports.handler = async () => { throw new Error('node=' + process.version); };\n");
    const probeArn = local.lambdaArn('node-probe');
    const probeFn: ChildProcessFunction = { kind: 'child-process', bundlePath: probe, nodePath };
    local.registerRotationFunction(probeArn, probeFn);
    const probeSecret = await sm.send(new CreateSecretCommand({ Name: 'node24/probe', SecretString: '{}' }));
    const pr = await sm.send(new RotateSecretCommand({ SecretId: probeSecret.ARN, RotationLambdaARN: probeArn }));
    const seen = /node=(v[\d.]+)/.exec((await local.waitForRotation(probeSecret.ARN!, { versionId: pr.VersionId })).errorMessage ?? '')?.[1];
    if (seen !== wanted) {
      process.stdout.write(`FAIL the function ran under node ${seen ?? '?'}, not ${wanted}\n`);
      return 1;
    }
    process.stdout.write(`function runtime: node ${seen}\n`);

    for (const engine of ['postgres', 'mariadb'] as const) {
      const db = await startDemoServer(engine);
      try {
        for (const strategy of ['single-user', 'alternating-users'] as const) {
          const tag = `${engine}_${strategy === 'single-user' ? 'su' : 'au'}`;
          const arn = local.lambdaArn(`node24-${tag}`);
          const fn: ChildProcessFunction = {
            kind: 'child-process', bundlePath: BUNDLE, nodePath,
            env: { ROTOR_TLS_CA_FILE: db.caFile, ROTOR_STRATEGY: strategy, POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' },
          };
          local.registerRotationFunction(arn, fn);
          const base = { engine: db.engine, host: db.host, port: db.port, dbname: db.dbname };
          const user = `n24_${tag}`;
          const password = pw();
          await db.createUser(user, password);
          let masterarn: string | undefined;
          if (strategy === 'alternating-users') {
            masterarn = (await sm.send(new CreateSecretCommand({
              Name: `node24/master-${tag}`, SecretString: JSON.stringify({ ...base, username: db.admin.username, password: db.admin.password }),
            }))).ARN;
          }
          const secret = await sm.send(new CreateSecretCommand({
            Name: `node24/${tag}`, SecretString: JSON.stringify({ ...base, username: user, password, ...(masterarn ? { masterarn } : {}) }),
          }));
          const r = await sm.send(new RotateSecretCommand({ SecretId: secret.ARN, RotationLambdaARN: arn }));
          const outcome = await local.waitForRotation(secret.ARN!, { versionId: r.VersionId, timeoutMs: 60_000 });
          const current = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: secret.ARN }))).SecretString!) as { username: string; password: string };
          const loginOk = await db.canLogin(current.username, current.password);
          const ok = outcome.eventName === 'RotationSucceeded' && current.password !== password && loginOk;
          if (!ok) failures++;
          const detail = ok ? `new AWSCURRENT logs in as ${current.username}` : `${outcome.eventName} ${outcome.errorMessage ?? ''} (new password logs in: ${loginOk})`;
          process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${engine} ${strategy}: ${detail}\n`);
        }
      } finally {
        await db.stop();
      }
    }
  } finally {
    await local.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  return failures ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`rotate-under-node24: ${e.message}\n`);
    process.exit(1);
  },
);
