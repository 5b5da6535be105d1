import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { canLogin, startPostgres, type PgServer } from '../support/postgres-server';

/*
 * The README's "Try rotation against the local endpoint" section, run as
 * written with every AWS CLI installed here (v1 and/or v2): its shell blocks
 * are taken from README.md, with only what cannot be literal replaced: the
 * Docker PostgreSQL by a throwaway one (same role and password, another
 * port), port 4566 by a free one, and `npx rotor` by `node bin/rotor.js`.
 * `rotor local` runs in a fresh folder (only `dist` linked in), so the relative
 * `--state .tmp/secrets.json` meets a `.tmp` that does not exist yet, as on a
 * fresh clone. Skipped when no AWS CLI is installed
 * (test/local/rotor-local-rotation.test.ts runs the same flow with the SDK).
 */

const ROOT = path.resolve(__dirname, '../..');

function section(): { server: string[]; client: string; operator: string } {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Try rotation against the local endpoint');
  const text = readme.slice(start, readme.indexOf('\n## ', start + 10));
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  expect(blocks).toHaveLength(3);
  // Continuation lines joined: one command per entry.
  const server = blocks[0].replace(/\\\n\s*/g, '').split('\n').filter((l) => l.trim() !== '');
  return { server, client: blocks[1], operator: blocks[2] };
}

/** Each distinct AWS CLI major version on this machine: [label, executable]. */
function installedClis(): [string, string][] {
  const found = new Map<string, string>();
  const candidates = [spawnSync('sh', ['-c', 'command -v aws'], { encoding: 'utf8' }).stdout.trim(), '/usr/bin/aws', '/usr/local/bin/aws'];
  for (const exe of candidates) {
    if (!exe || !existsSync(exe)) continue;
    const version = spawnSync(exe, ['--version'], { encoding: 'utf8' });
    const m = /aws-cli\/(\d+)\.[\d.]+/.exec(`${version.stdout}${version.stderr}`);
    if (m && !found.has(m[1])) found.set(m[1], exe);
  }
  return [...found.entries()].map(([major, exe]) => [`AWS CLI v${major}`, exe]);
}

const clis = installedClis();
let pg: PgServer;
let dir: string;

beforeAll(async () => {
  if (clis.length === 0) return;
  pg = await startPostgres();
  dir = mkdtempSync(path.join(os.tmpdir(), 'rotor-readme-'));
});
afterAll(async () => {
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

if (clis.length === 0) {
  test.skip('the README local flow with the AWS CLI (no AWS CLI installed)', () => undefined);
}

test.each(clis)("the README's local rotation flow works as written with %s", async (_label, aws) => {
  const { server, client, operator } = section();
  // The README's database: role app, password initial-pw-1 (reset for each CLI).
  await pg.query('DROP ROLE IF EXISTS app');
  await pg.query(`CREATE ROLE app LOGIN PASSWORD 'initial-pw-1'`);

  expect(server[0]).toMatch(/^docker run .* -e POSTGRES_USER=app -e POSTGRES_PASSWORD=initial-pw-1 postgres:15$/);
  expect(server[1]).toMatch(/^npm run build\b/);
  expect(existsSync(path.join(ROOT, 'dist/rotation/index.js'))).toBe(true);
  const rotorLine = server.find((l) => l.startsWith('npx rotor local '))!;
  const args = rotorLine
    .replace(/^npx rotor local /, '')
    .replace('--port 4566', '--port 0')
    .split(/\s+/);
  const cwd = mkdtempSync(path.join(dir, 'clone-'));
  symlinkSync(path.join(ROOT, 'dist'), path.join(cwd, 'dist'));
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'bin/rotor.js'), 'local', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d.toString()));
  child.stderr!.on('data', (d) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const printed = (re: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = re.exec(out);
        if (m) {
          child.stdout!.off('data', check);
          resolve(m);
        }
      };
      child.stdout!.on('data', check);
      check();
      void exited.then(() => reject(new Error(`rotor local exited:\n${out}`)));
    });
  try {
    await printed(/Ctrl-C to stop\./);
    const endpoint = /export AWS_ENDPOINT_URL_SECRETS_MANAGER=(\S+)/.exec(out)![1];
    // The ARN the README uses is the one rotor local printed.
    const arn = /rotation function: (\S+)/.exec(out)![1];
    expect(client).toContain(`--rotation-lambda-arn ${arn}`);

    const script = client
      .replace('EP=http://127.0.0.1:4566', `EP=${endpoint}`)
      .replace('"port":5432', `"port":${pg.port}`)
      .replace(/^aws /gm, '"$AWS" ');
    const [beforeWait, afterWait] = script.split(/^# rotor local prints:.*$/m);
    expect(afterWait).toMatch(/^"\$AWS" secretsmanager get-secret-value /m);
    const run = (part: string) =>
      execFileSync('bash', ['-c', `set -euo pipefail\n${part}`], {
        encoding: 'utf8',
        // A clean CLI configuration: no profile or credentials of whoever runs the tests.
        env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS: aws, AWS_CONFIG_FILE: path.join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none') },
      });
    const created = run(beforeWait);
    const versionId = [...created.matchAll(/"VersionId": "([^"]+)"/g)].map((m) => m[1])[1];
    expect(versionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const end = await printed(new RegExp(`rotation of demo \\(version ${versionId}, attempt (\\d+)\\): (RotationSucceeded|RotationFailed.*\\(no more attempts\\)|RotationAbandoned)`));
    // As the README says: the first attempt succeeds, and every change was saved.
    expect([end[2], end[1]]).toEqual(['RotationSucceeded', '1']);
    expect(out).not.toMatch(/could not save/);
    const state = JSON.parse(readFileSync(path.join(cwd, '.tmp/secrets.json'), 'utf8')) as { secrets: Array<{ name: string }> };
    expect(state.secrets.map((x) => x.name)).toEqual(['demo']);
    // The rest needs the variables of the first part again (each run is a new shell).
    const shown = run(`${beforeWait.split('\n').filter((l) => /^(export |EP=)/.test(l)).join('\n')}\n${afterWait}`);
    expect(shown).toContain('AWSCURRENT');
    const value = JSON.parse(shown.trim().split('\n').pop()!) as { password: string };
    expect(value.password).not.toBe('initial-pw-1');
    const db = { host: '127.0.0.1', port: pg.port, database: 'postgres' };
    expect(await canLogin(db, 'app', value.password)).toBe(true);
    expect(await canLogin(db, 'app', 'initial-pw-1')).toBe(false);

    // The operator CLI on the same secret, as the README's third block says (same shell variables).
    expect(operator.split('\n').filter((l) => l.startsWith('npx rotor ')).length).toBe(3);
    const cli = run(`${beforeWait.split('\n').filter((l) => /^(export |EP=)/.test(l)).join('\n')}\n${operator
      .replace(/^npx rotor /gm, `"${process.execPath}" "${path.join(ROOT, 'bin/rotor.js')}" `)}`);
    expect(cli).toMatch(/│ demo +│[^\n]*│ ok +│/); // status --all lists it
    expect(cli).toMatch(/SecretsManager\.1 ok/);
    expect(cli).toMatch(/^demo: 2 rotation events .* last outcome RotationSucceeded/m); // history
    expect(cli).toMatch(/^demo: healthy/m); // doctor
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});
