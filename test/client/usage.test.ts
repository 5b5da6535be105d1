import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import * as mysql from 'mysql2/promise';
import { SecretCache, createMysqlPool, createPgPool } from '../../client';
import { rotor } from '../cli/cli-kit';
import { startRotationFixture, type RotationFixture } from '../support/rotation-fixture';

/**
 * `rotor usage` (the CLI in a child process) against real servers: a
 * rotation-aware pool and a naive connection hold sessions; the report says
 * who uses which user and whether anything not rotation-aware uses the user
 * the next rotation changes.
 */
describe.each(['postgres', 'mariadb'] as const)('rotor usage on %s', (engine) => {
  let f: RotationFixture;
  let ca: string;
  let env: Record<string, string>;
  let masterArn: string;
  let arnAlternating: string;

  beforeAll(async () => {
    f = await startRotationFixture({ engine, tls: true });
    ca = readFileSync(f.pg.caFile!, 'utf8');
    arnAlternating = f.registerHandler(`usage-au-${engine}`, { ROTOR_STRATEGY: 'alternating-users' });
    masterArn = await f.createSecret(f.secretFor(f.pg.superuser.username, f.pg.superuser.password));
    env = {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: f.local.endpoint, AWS_REGION: f.local.region, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
      ROTOR_TLS_CA_FILE: f.pg.caFile!,
    };
  });
  afterAll(async () => {
    await f?.stop();
  });

  /** A connection that read the password once, naming itself "legacy". */
  async function naive(user: string, password: string): Promise<{ close(): Promise<void> }> {
    if (engine === 'postgres') {
      const c = new Client({ host: 'localhost', port: f.pg.port, user, password, database: f.pg.database, ssl: { ca }, application_name: 'legacy' });
      c.on('error', () => undefined);
      await c.connect();
      return { close: () => c.end() };
    }
    const c = await mysql.createConnection({ host: 'localhost', port: f.pg.port, user, password, database: f.pg.database, ssl: { ca }, connectAttributes: { program_name: 'legacy' } });
    return { close: () => c.end() };
  }

  /** A rotation-aware pool holding one session open. */
  async function aware(secretId: string): Promise<{ close(): Promise<void> }> {
    const opts = { cache: new SecretCache({ client: f.sm }), secretId, ca, applicationName: 'orders' };
    if (engine === 'postgres') {
      const pool = createPgPool(opts, { max: 1 });
      const c = await pool.connect();
      return { close: async () => { c.release(); await pool.end(); } };
    }
    const pool = await createMysqlPool(opts, { connectionLimit: 1 });
    const c = await pool.getConnection();
    return { close: async () => { c.release(); await pool.end(); } };
  }

  test('alternating users: sessions per user and application; a naive session on the user the next rotation changes is at risk (exit 1)', async () => {
    const name = `use_${engine === 'postgres' ? 'pg' : 'my'}`;
    const password = await f.createRole(name);
    const arn = await f.createSecret(f.secretFor(name, password, { masterarn: masterArn }));
    expect((await f.rotate(arn, arnAlternating)).eventName).toBe('RotationSucceeded');
    const clone = `${name}_clone`;

    const app = await aware(arn);
    const legacy = await naive(name, password);
    try {
      const r = await rotor(['usage', arn, '--json'], env);
      expect(r.stderr).toBe('');
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ strategy: 'alternating-users', currentUser: clone, nextRotationChanges: name, readAs: f.pg.superuser.username, visibility: 'all' });
      expect(report.lastAccessedDate).toBe(new Date().toISOString().slice(0, 10));
      const byUser = (u: string) => report.sessions.filter((s: { user: string }) => s.user === u);
      expect(byUser(clone).reduce((a: number, s: { sessions: number }) => a + s.sessions, 0)).toBe(1);
      expect(byUser(name).reduce((a: number, s: { sessions: number }) => a + s.sessions, 0)).toBe(1);
      expect(byUser(name)[0].clientAddress).toBe('127.0.0.1');
      if (engine === 'postgres') {
        // MariaDB shows connection attributes only with performance_schema on (the test server runs without it).
        expect(byUser(clone)[0]).toMatchObject({ applicationName: 'orders (rotor-client)', rotationAware: true });
        expect(byUser(name)[0]).toMatchObject({ applicationName: 'legacy', rotationAware: false });
      }
      expect(report.atRisk).toBe(1);
      expect(r.code).toBe(1);

      const table = await rotor(['usage', arn], env);
      expect(table.stdout).toContain('client address');
      expect(table.stdout).toContain(`the next rotation changes: ${name}`);
      expect(table.stdout).not.toContain(password);
    } finally {
      await legacy.close();
    }
    try {
      const r = await rotor(['usage', arn, '--json'], env);
      const report = JSON.parse(r.stdout);
      expect(report.atRisk).toBe(0);
      expect(report.sessions.map((s: { user: string }) => s.user)).toEqual([clone]);
      expect(r.code).toBe(0);
    } finally {
      await app.close();
    }
  });

  test('single user: read as the secret itself, only its own sessions are visible, and the report says so', async () => {
    const name = `use_su_${engine === 'postgres' ? 'pg' : 'my'}`;
    const password = await f.createRole(name);
    const arn = await f.createSecret(f.secretFor(name, password));
    const legacy = await naive(name, password);
    try {
      const r = await rotor(['usage', arn, '--json'], env);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ strategy: 'single-user', currentUser: name, nextRotationChanges: name, readAs: name, visibility: 'own', atRisk: 0 });
      expect(report.sessions.reduce((a: number, s: { sessions: number }) => a + s.sessions, 0)).toBe(1);
      expect(report.notes.join(' ')).toMatch(engine === 'postgres' ? /pg_read_all_stats/ : /PROCESS/);
      expect(r.code).toBe(0);
    } finally {
      await legacy.close();
    }
  });

  test('the function\'s login rules: a reading secret below the TLS floor, or on another server, is refused before any login', async () => {
    const name = `use_tls_${engine === 'postgres' ? 'pg' : 'my'}`;
    const password = await f.createRole(name);
    const arn = await f.createSecret(f.secretFor(name, password));
    const weak = await f.createSecret(f.secretFor(f.pg.superuser.username, f.pg.superuser.password, { ssl: 'disable' }));
    const elsewhere = await f.createSecret(f.secretFor(f.pg.superuser.username, f.pg.superuser.password, { port: f.pg.port + 1 }));
    const [below, other] = await Promise.all([rotor(['usage', arn, '--as', weak, '--json'], env), rotor(['usage', arn, '--as', elsewhere, '--json'], env)]);
    expect(below.code).toBe(1);
    expect(JSON.parse(below.stdout).error).toMatch(/asks for TLS mode "disable" \(its "ssl" field\), below this deployment's floor "verify-full"/);
    expect(other.code).toBe(1);
    expect(JSON.parse(other.stdout).error).toMatch(/not at the user's server/);
    // With the floor lowered on purpose, the same reader works (the floor, not the reader, refused it).
    const lowered = await rotor(['usage', arn, '--as', weak, '--tls-mode', 'disable', '--json'], env);
    expect(JSON.parse(lowered.stdout)).toMatchObject({ readAs: f.pg.superuser.username });
  });
});
