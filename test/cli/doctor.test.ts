import { DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { startPostgres, type PgServer } from '../support/postgres-server';
import { startMariadb, type MariadbServer } from '../support/mariadb-server';
import { freePort } from '../support/free-port';
import { password, rotor, startCliStack, type CliStack } from './cli-kit';
import { PostgresEngine } from '../../lambda/rotation/engines/postgres';
import * as explain from '../../lambda/rotation/engines/explanations';
import { rotationFailure } from '../support/rotation-error';

let pg: PgServer;
let mdb: MariadbServer;
let stack: CliStack;
const secrets: string[] = [];

interface Check { id: string; status: string; detail: string; fix?: string }
async function doctor(secret: string, ...args: string[]) {
  const r = await rotor(['doctor', secret, '--json', '--timeout', '2000', ...args], stack.env);
  for (const pw of secrets) expect(r.stdout + r.stderr).not.toContain(pw);
  const out = JSON.parse(r.stdout) as { ok: boolean; strategy: string; checks: Check[] };
  return { code: r.code, out, check: (id: string) => out.checks.find((c) => c.id === id)! };
}

async function pgSecret(name: string, extra: Record<string, unknown> = {}, role = `doc_${name}`, attrs = ''): Promise<string> {
  const pw = password();
  secrets.push(pw);
  await pg.query(`CREATE ROLE ${role} LOGIN ${attrs} PASSWORD '${pw}'`);
  return stack.createSecret(`doctor/${name}`, { engine: 'postgres', host: 'localhost', port: pg.port, username: role, password: pw, dbname: pg.database, ...extra });
}

beforeAll(async () => {
  [pg, mdb] = await Promise.all([startPostgres({ tls: true }), startMariadb({ tls: true })]);
  stack = await startCliStack({ ROTOR_TLS_CA_FILE: pg.caFile! });
  await stack.configure(await pgSecret('healthy'), stack.realFn);
  await stack.configure(await pgSecret('wrongport', { port: await freePort() }), stack.failingFn);
  expect(await stack.rotateNow(await pgSecret('stuck'), stack.failingFn)).toBe('RotationFailed');
  const master = await pgSecret('master', {}, 'doc_master', 'NOCREATEROLE');
  await stack.configure(await pgSecret('alt', { masterarn: master }), stack.failingFn);
  await stack.createSecret('doctor/broken', { engine: 'postgres', port: 5432, username: 'x', password: 'not-printed-1' });
  secrets.push('not-printed-1');

  const mpw = password();
  secrets.push(mpw);
  await mdb.query("CREATE USER 'doc_app'@'%' IDENTIFIED BY ?", [mpw]);
  await mdb.query(`GRANT SELECT ON \`${mdb.database}\`.* TO 'doc_app'@'%'`);
  await stack.configure(await stack.createSecret('doctor/mariadb', { engine: 'mariadb', host: 'localhost', port: mdb.port, username: 'doc_app', password: mpw, dbname: mdb.database }), stack.failingFn);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await Promise.all([pg?.stop(), mdb?.stop()]);
});

test('a healthy PostgreSQL secret passes every check (exit 0), and the table says so', async () => {
  const [json, table] = await Promise.all([
    doctor('doctor/healthy', '--ca-file', pg.caFile!),
    rotor(['doctor', 'doctor/healthy', '--ca-file', pg.caFile!], stack.env),
  ]);
  expect(json.out.checks.map((c) => [c.id, c.status])).toEqual([
    ['secret', 'ok'], ['rotation', 'ok'], ['versions', 'ok'], ['value', 'ok'], ['strategy', 'ok'],
    ['target', 'ok'], ['network', 'ok'], ['tls', 'ok'], ['login', 'ok'], ['privilege', 'ok'],
  ]);
  expect(json.check('login').detail).toBe('logged in as doc_healthy');
  expect(json.code).toBe(0);
  expect(table.stdout).toMatch(/doctor\/healthy: healthy/);
  expect(table.code).toBe(0);
});

test('wrong port, wrong CA, stuck AWSPENDING, revoked privilege and invalid JSON: each reported with its fix (exit 1)', async () => {
  const [port, ca, stuck, alt, broken] = await Promise.all([
    doctor('doctor/wrongport', '--ca-file', pg.caFile!),
    doctor('doctor/healthy', '--ca-file', pg.otherCaFile!),
    doctor('doctor/stuck', '--ca-file', pg.caFile!),
    doctor('doctor/alt', '--ca-file', pg.caFile!),
    doctor('doctor/broken'),
  ]);
  for (const r of [port, ca, stuck, alt, broken]) expect(r.code).toBe(1);

  expect(port.check('network')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/ECONNREFUSED/), fix: expect.stringMatching(/"port" in the secret/) });
  expect(port.check('login').status).toBe('skip');

  expect(ca.check('tls')).toMatchObject({ status: 'fail', fix: expect.stringMatching(/--ca-file/) });
  expect(ca.check('login').status).toBe('skip');

  const pendingVersion = /AWSPENDING is on version ([0-9a-f-]{36})/.exec(stuck.check('versions').detail)![1];
  expect(stuck.check('versions')).toMatchObject({
    status: 'fail',
    fix: `if AWSCURRENT logs in (see the login check): aws secretsmanager update-secret-version-stage --secret-id doctor/stuck --version-stage AWSPENDING --remove-from-version-id ${pendingVersion}`,
  });
  expect(stuck.check('login').status).toBe('ok');

  expect(alt.out.strategy).toBe('alternating-users');
  expect(alt.check('privilege')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/doc_master: it has neither CREATEROLE nor SUPERUSER/), fix: explain.pgMasterNeedsCreaterole('doc_master') });
  expect(alt.check('privilege').fix).toContain('ALTER ROLE doc_master CREATEROLE;');

  expect(broken.check('value')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/no "host" field/) });
  expect(broken.check('rotation')).toMatchObject({ status: 'fail', fix: expect.stringMatching(/aws secretsmanager rotate-secret --secret-id doctor\/broken/) });
});

test('a role that may not log in (NOLOGIN): doctor prints the engine\'s explanation, which names the fix', async () => {
  const role = 'doc_nologin';
  const arn = await pgSecret('nologin', {}, role);
  await pg.query(`ALTER ROLE ${role} NOLOGIN`);
  const current = JSON.parse((await stack.sm.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString!);
  const engineError = await rotationFailure(new PostgresEngine().connect(current, { tlsMode: 'verify-full', caFile: pg.caFile!, connectTimeoutMs: 2000, statementTimeoutMs: 2000 }));
  expect(engineError.category).toBe('permission');
  expect(engineError.action).toBe(explain.pgNologin(role));
  const r = await doctor(arn, '--ca-file', pg.caFile!);
  expect(r.check('login')).toMatchObject({ status: 'fail', fix: engineError.action });
  expect(r.check('privilege')).toMatchObject({ status: 'fail', fix: engineError.action });
  // The action to take, whatever the wording around it.
  expect(r.check('login').fix).toContain(`ALTER ROLE ${role} LOGIN;`);
  expect(r.code).toBe(1);
});

test('stuck AWSPENDING that is the only working credential: doctor says finish the rotation, never remove AWSPENDING', async () => {
  const oldPw = password();
  const arn = await pgSecret('halfway');
  // As after a rotation that failed after setSecret: the database has the AWSPENDING password, AWSCURRENT the old one.
  const current = JSON.parse((await stack.sm.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString!);
  secrets.push(oldPw);
  const d0 = await stack.sm.send(new DescribeSecretCommand({ SecretId: arn }));
  const currentId = Object.keys(d0.VersionIdsToStages!).find((id) => d0.VersionIdsToStages![id].includes('AWSCURRENT'))!;
  const pending = await stack.sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(current), VersionStages: ['AWSPENDING'] }));
  await stack.sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify({ ...current, password: oldPw }), VersionStages: ['AWSCURRENT'] }));
  const d1 = await stack.sm.send(new DescribeSecretCommand({ SecretId: arn }));
  const refusedId = Object.keys(d1.VersionIdsToStages!).find((id) => d1.VersionIdsToStages![id].includes('AWSCURRENT'))!;
  expect(refusedId).not.toBe(currentId);
  const r = await doctor('doctor/halfway', '--ca-file', pg.caFile!);
  expect(r.check('login').status).toBe('fail');
  expect(r.check('versions').detail).toMatch(/Do not remove AWSPENDING/);
  expect(r.check('versions').fix).toBe(
    `check that the AWSPENDING value logs in, then finish the rotation: aws secretsmanager update-secret-version-stage --secret-id doctor/halfway --version-stage AWSCURRENT --move-to-version-id ${pending.VersionId} --remove-from-version-id ${refusedId}`,
  );
});

test('MariaDB: healthy passes; a master without GRANT OPTION fails the privilege check', async () => {
  const healthy = await doctor('doctor/mariadb', '--ca-file', mdb.caFile!);
  expect(healthy.out.checks.filter((c) => c.status !== 'ok')).toEqual([]);
  expect(healthy.code).toBe(0);

  const mpw = password();
  secrets.push(mpw);
  await mdb.query("CREATE USER 'doc_master'@'%' IDENTIFIED BY ?", [mpw]);
  await mdb.query("GRANT CREATE USER ON *.* TO 'doc_master'@'%'");
  const master = await stack.createSecret('doctor/mariadb-master', { engine: 'mariadb', host: 'localhost', port: mdb.port, username: 'doc_master', password: mpw });
  const apw = password();
  secrets.push(apw);
  await mdb.query("CREATE USER 'doc_alt'@'%' IDENTIFIED BY ?", [apw]);
  await stack.configure(await stack.createSecret('doctor/mariadb-alt', { engine: 'mariadb', host: 'localhost', port: mdb.port, username: 'doc_alt', password: apw, masterarn: master }), stack.failingFn);
  const alt = await doctor('doctor/mariadb-alt', '--ca-file', mdb.caFile!);
  expect(alt.check('privilege')).toMatchObject({ status: 'fail', detail: 'master doc_master lacks GRANT OPTION', fix: expect.stringMatching(/WITH GRANT OPTION/) });
  expect(alt.code).toBe(1);
});

test('MariaDB single-user with a second host entry it can see: doctor fails with the function\'s refusal and its fix', async () => {
  const mpw = password();
  secrets.push(mpw);
  await mdb.query("CREATE USER 'doc_hosts'@'%' IDENTIFIED BY ?", [mpw]);
  await mdb.query("CREATE USER 'doc_hosts'@'10.%' IDENTIFIED BY ?", [mpw]);
  await mdb.query(`GRANT SELECT ON \`${mdb.database}\`.* TO 'doc_hosts'@'%'`);
  await mdb.query("GRANT SELECT ON mysql.user TO 'doc_hosts'@'%'");
  const arn = await stack.createSecret('doctor/mariadb-hosts', { engine: 'mariadb', host: 'localhost', port: mdb.port, username: 'doc_hosts', password: mpw, dbname: mdb.database });
  const r = await doctor(arn, '--ca-file', mdb.caFile!, '--strategy', 'single-user');
  expect(r.check('privilege')).toMatchObject({
    status: 'fail',
    detail: expect.stringMatching(/the user has 2 accounts \("doc_hosts"@"%", "doc_hosts"@"10\.%"\)/),
    fix: explain.mysqlSeveralHostEntries('doc_hosts', '%', ['%', '10.%']),
  });
  expect(r.check('privilege').fix).toContain("DROP USER 'doc_hosts'@'10.%';");
  expect(r.code).toBe(1);
});

test('doctor follows the function\'s trust rules: TLS floor, master on the user\'s server only, the recorded target', async () => {
  // A secret asking for less TLS than the floor: refused without a login attempt.
  const low = await pgSecret('tlslow', { ssl: 'disable' });
  // Alternating users whose master secret names another server: the master password is never sent there.
  const farMaster = await stack.createSecret('doctor/farmaster', { engine: 'postgres', host: '127.0.0.2', port: pg.port, username: pg.superuser.username, password: pg.superuser.password, dbname: pg.database });
  secrets.push(pg.superuser.password);
  const alt = await pgSecret('altfar', { masterarn: farMaster }, 'doc_altfar');
  // A secret whose AWSCURRENT no longer matches the target its last rotation recorded.
  const moved = await pgSecret('moved');
  await stack.sm.send(new TagResourceCommand({ SecretId: moved, Tags: [{ Key: 'rotor:rotated-target', Value: `v1:${'0'.repeat(64)}` }] }));

  const [l, a, m] = await Promise.all([
    doctor(low, '--ca-file', pg.caFile!),
    doctor(alt, '--ca-file', pg.caFile!, '--strategy', 'alternating-users'),
    doctor(moved, '--ca-file', pg.caFile!),
  ]);
  expect(l.check('tls')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/below this deployment's floor "verify-full" \(ROTOR_TLS_MODE\)/) });
  expect(l.check('login').status).toBe('skip');
  expect(a.check('privilege')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/the master secret points at 127\.0\.0\.2:\d+, not at the user's server/) });
  expect(m.check('target')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/AWSCURRENT names another database target/) });
  for (const r of [l, a, m]) expect(r.code).toBe(1);
});

test('rds-master: doctor reads the instance from the local RDS endpoint (AWS_ENDPOINT_URL_RDS) with the loopback defaults, and a managed master password fails', async () => {
  const { LocalRds } = await import('../../local/rds/local-rds');
  const rds = await LocalRds.start({ port: 0 });
  try {
    rds.addInstance({ identifier: 'doc-plain', engine: 'postgres', host: 'localhost', port: pg.port, masterUsername: 'doc_rdsm', applyPassword: async () => undefined });
    rds.addInstance({
      identifier: 'doc-managed', engine: 'postgres', host: 'localhost', port: pg.port, masterUsername: 'doc_rdsm',
      manageMasterUserPassword: true, masterUserSecretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:rds!db-doc-managed-AbCdEf', applyPassword: async () => undefined,
    });
    await pgSecret('rdsm', { dbInstanceIdentifier: 'doc-plain' }, 'doc_rdsm');
    const pw = password();
    secrets.push(pw);
    await stack.createSecret('doctor/rdsm-managed', { engine: 'postgres', host: 'localhost', port: pg.port, username: 'doc_rdsm', password: pw, dbname: pg.database, dbInstanceIdentifier: 'doc-managed' });
    // Only the endpoint variables: no AWS credentials or Region (the local endpoints accept any).
    const env = { AWS_ENDPOINT_URL_SECRETS_MANAGER: stack.local.endpoint, AWS_ENDPOINT_URL_RDS: rds.endpoint };
    const run = async (secret: string) => {
      const r = await rotor(['doctor', secret, '--json', '--timeout', '2000', '--strategy', 'rds-master', '--ca-file', pg.caFile!], env);
      const out = JSON.parse(r.stdout) as { checks: Check[] };
      return out.checks.find((c) => c.id === 'rds')!;
    };
    const [plain, managed] = await Promise.all([run('doctor/rdsm'), run('doctor/rdsm-managed')]);
    expect(plain).toMatchObject({ status: 'ok', detail: 'instance doc-plain: available, master user doc_rdsm' });
    expect(managed).toMatchObject({ status: 'fail', detail: 'instance doc-managed: RDS manages its master password in Secrets Manager' });
  } finally {
    await rds.stop();
  }
}, 60_000);


test('server down: TCP reach fails with the fix; an unknown secret fails', async () => {
  await pg.pause();
  const [down, missing] = await Promise.all([doctor('doctor/healthy', '--ca-file', pg.caFile!), doctor('doctor/nope')]);
  expect(down.check('network')).toMatchObject({ status: 'fail', fix: expect.stringMatching(/database is running/) });
  expect(down.code).toBe(1);
  expect(missing.out.checks).toEqual([expect.objectContaining({ id: 'secret', status: 'fail', detail: 'DescribeSecret failed: ResourceNotFoundException' })]);
  expect(missing.code).toBe(1);
});
