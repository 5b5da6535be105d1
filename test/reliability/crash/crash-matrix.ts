import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { RDSClient } from '@aws-sdk/client-rds';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { Client } from 'pg';
import { createRotationHandler } from '../../../lambda/rotation/handler';
import { LocalSecretsManager, localClientConfig, namedServiceError, type InterceptedCall, type RotationLifecycleEvent } from '../../../local';
import { startMariadb, canLoginMariadb } from '../../../local/mariadb-server';
import { LocalRds, localRdsClientConfig } from '../../../local/rds';
import { canLogin, startPostgres } from '../../support/postgres-server';
import { silentLogger, type TestDatabaseServer } from '../../support/rotation-fixture';
import { startStatementProxy, type ProxiedStatement, type StatementProxy } from './statement-proxy';

export type MatrixEngine = 'postgres' | 'mariadb';
export type MatrixStrategy = 'single-user' | 'alternating-users' | 'rds-master';
export type FaultKind = 'thrown' | 'killed';
export type FaultPhase = 'before' | 'after';
export type PointSource = 'secrets-manager' | 'database' | 'rds';

/** A place between two side effects of a rotation: one call or statement of one step, counted within the step. */
export interface CrashPoint {
  step: string;
  source: PointSource;
  /** e.g. `PutSecretValue(AWSPENDING)`, `ALTER ROLE`, `apply master password` */
  name: string;
  occurrence: number;
}

export const pointKey = (p: CrashPoint) => `${p.step} ${p.source} ${p.name} #${p.occurrence}`;

export interface PointOutcome {
  point: string;
  phase: FaultPhase;
  kind: FaultKind;
  /** The fault was injected (the point was reached). */
  fired: boolean;
  /** Stored versions (by label) whose credentials logged in at the moment of the fault. */
  loginsAtFault: string[];
  /** The injected fault made an attempt fail (false: the function absorbed it). */
  attemptFailed: boolean;
  outcome: string;
  currentLogsIn: boolean;
  labelsConsistent: boolean;
  nextRotation: string;
  nextCurrentLogsIn: boolean;
  /** Every broken promise, empty when the point passed. */
  problems: string[];
}

const PROBE_AGENT = 'rotor-crash-probe';
const BUNDLE = path.resolve(__dirname, '../../../dist/rotation/index.js');
const PROBED_LABELS = ['AWSCURRENT', 'AWSPENDING', 'AWSPREVIOUS'];

interface Armed {
  key: string;
  phase: FaultPhase;
  kind: FaultKind;
  fired: boolean;
  secretArn: string;
  /** SDK invocation id of the faulted call: its retries fail too, as the same outage would fail them. */
  doomedInvocation?: string;
  /** Labels that logged in when the fault fired. */
  logins?: string[];
  probeError?: string;
}

/**
 * Crash-point matrix for one engine x strategy: a real database (plaintext,
 * behind a statement-aware proxy), the local Secrets Manager with its
 * rotation driver retrying as Secrets Manager does, the rotation handler
 * in-process (faults as thrown errors) and the bundled function in a child
 * process (faults as SIGKILL of that process).
 */
export class CrashMatrix {
  private currentStep: string | undefined;
  private subjectArn: string | undefined;
  private counts = new Map<string, number>();
  private recording: CrashPoint[] | undefined;
  private armed: Armed | undefined;
  /** The point of each connection's statement in flight, by connection number. */
  private readonly sqlKeys = new Map<number, string>();
  /** The point of the password change RDS is applying. */
  private rdsKey: string | undefined;
  private readonly callKeys = new WeakMap<object, string>();
  private seq = 0;
  private master?: { arn: string; username: string; password: string };

  private constructor(
    readonly spec: { engine: MatrixEngine; strategy: MatrixStrategy },
    private readonly db: TestDatabaseServer,
    private readonly proxy: StatementProxy,
    private readonly local: LocalSecretsManager,
    private readonly probeSm: SecretsManagerClient,
    private readonly rds: LocalRds | undefined,
    readonly inProcessArn: string,
    readonly childArn: string,
  ) {}

  static async start(spec: { engine: MatrixEngine; strategy: MatrixStrategy }): Promise<CrashMatrix> {
    const db: TestDatabaseServer = spec.engine === 'postgres' ? await startPostgres({ tls: false }) : await startMariadb({ tls: false });
    const proxy = await startStatementProxy(spec.engine === 'postgres' ? 'postgres' : 'mysql', { host: '127.0.0.1', port: db.port });
    const local = await LocalSecretsManager.start({ port: 0, rotation: { maxAttempts: 4, initialBackoffMs: 10, maxBackoffMs: 40, stepTimeoutMs: 20_000 } });
    const rds = spec.strategy === 'rds-master' ? await LocalRds.start({ port: 0, passwordChangeDelayMs: 30 }) : undefined;
    const probeSm = new SecretsManagerClient({ ...localClientConfig(local.endpoint, local.region), maxAttempts: 3, customUserAgent: PROBE_AGENT });
    // rds-master acts only on the instances it is deployed for: every identifier createSubject() may use.
    const rdsArns = rds ? Array.from({ length: 1000 }, (_, i) => rds.instanceArn(`crash-db-${i + 1}`)).join(',') : undefined;
    const env = { ROTOR_TLS_MODE: 'disable', ROTOR_STRATEGY: spec.strategy, ...(rdsArns ? { ROTOR_RDS_RESOURCE_ARNS: rdsArns } : {}) };
    const handler = createRotationHandler({
      secretsManager: new SecretsManagerClient({ ...localClientConfig(local.endpoint, local.region), maxAttempts: 3 }),
      ...(rds ? { rds: new RDSClient({ ...localRdsClientConfig(rds.endpoint, rds.region), maxAttempts: 3 }) } : {}),
      env,
      logger: silentLogger(),
    });
    const inProcessArn = local.lambdaArn('rotor-crash-in-process');
    local.registerRotationFunction(inProcessArn, { kind: 'in-process', handler: (e, c) => handler(e, c as never) });
    const childArn = local.lambdaArn('rotor-crash-bundle');
    local.registerRotationFunction(childArn, {
      kind: 'child-process',
      bundlePath: BUNDLE,
      env: { ...env, POWERTOOLS_LOG_LEVEL: 'ERROR', ...(rds ? { AWS_ENDPOINT_URL_RDS: rds.endpoint } : {}) },
    });
    const m = new CrashMatrix(spec, db, proxy, local, probeSm, rds, inProcessArn, childArn);
    local.observeInvocations((e) => {
      if (e.secretArn !== m.subjectArn || e.phase !== 'start') return;
      m.currentStep = e.step;
      m.counts.clear();
    });
    local.faults.setInterceptor((call) => m.onSecretsManagerCall(call));
    proxy.setHook((s) => m.onStatement(s));
    if (spec.strategy === 'alternating-users') m.master = await m.createMaster();
    return m;
  }

  async stop(): Promise<void> {
    await this.local.stop();
    await this.rds?.stop();
    await this.proxy.close();
    await this.db.stop();
  }

  /** One clean rotation, recording every point it passes. */
  async discover(): Promise<CrashPoint[]> {
    const points: CrashPoint[] = [];
    this.recording = points;
    try {
      const subject = await this.createSubject();
      const end = await this.rotate(subject.arn, this.inProcessArn);
      if (end.eventName !== 'RotationSucceeded') throw new Error(`discovery rotation ended ${end.eventName}: ${end.errorMessage}`);
    } finally {
      this.recording = undefined;
      this.subjectArn = undefined;
    }
    return points;
  }

  /** Injects one fault at one point of a fresh rotation, lets the driver retry, then checks every promise. */
  async run(point: CrashPoint, phase: FaultPhase, kind: FaultKind): Promise<PointOutcome> {
    const subject = await this.createSubject();
    const key = pointKey(point);
    const armed: Armed = { key, phase, kind, fired: false, secretArn: subject.arn };
    this.armed = armed;
    const problems: string[] = [];
    let end: RotationLifecycleEvent;
    try {
      end = await this.rotate(subject.arn, kind === 'thrown' ? this.inProcessArn : this.childArn);
    } finally {
      this.armed = undefined;
      this.subjectArn = undefined;
    }
    const failedAttempts = this.local.events({ secretId: subject.arn }).filter((e) => e.eventName === 'RotationFailed');
    if (!armed.fired) problems.push('the point was not reached');
    if (armed.probeError) problems.push(`probe at the fault failed: ${armed.probeError}`);
    if (armed.fired && (armed.logins ?? []).length === 0) problems.push('at the fault no stored version logged in');
    if (end.eventName !== 'RotationSucceeded') problems.push(`rotation ended ${end.eventName} (${end.errorType}: ${end.errorMessage})`);

    const after = await this.probe(subject.arn);
    const currentLogsIn = after.logins.includes('AWSCURRENT');
    if (!currentLogsIn) problems.push('after recovery AWSCURRENT does not log in');
    if (!after.consistent) problems.push(`labels inconsistent after recovery: ${after.labelsText}`);

    // The next scheduled rotation (no token: Secrets Manager makes one), with the function the rotation used.
    const next = await this.rotate(subject.arn, undefined);
    const nextProbe = await this.probe(subject.arn);
    if (next.eventName !== 'RotationSucceeded') problems.push(`next rotation ended ${next.eventName} (${next.errorMessage})`);
    const nextCurrentLogsIn = nextProbe.logins.includes('AWSCURRENT');
    if (!nextCurrentLogsIn) problems.push('after the next rotation AWSCURRENT does not log in');
    if (!nextProbe.consistent) problems.push(`labels inconsistent after the next rotation: ${nextProbe.labelsText}`);
    return {
      point: key,
      phase,
      kind,
      fired: armed.fired,
      loginsAtFault: armed.logins ?? [],
      attemptFailed: failedAttempts.length > 0,
      outcome: end.eventName,
      currentLogsIn,
      labelsConsistent: after.consistent,
      nextRotation: next.eventName,
      nextCurrentLogsIn,
      problems,
    };
  }

  /** Writes the outcomes of this engine x strategy for docs/reliability.md. */
  static writeReport(spec: { engine: MatrixEngine; strategy: MatrixStrategy }, points: CrashPoint[], outcomes: PointOutcome[]): void {
    const dir = path.resolve(__dirname, '../../../.tmp/reliability');
    mkdirSync(dir, { recursive: true });
    const passed = outcomes.filter((o) => o.problems.length === 0).length;
    writeFileSync(
      path.join(dir, `crash-${spec.engine}-${spec.strategy}.json`),
      JSON.stringify(
        {
          ...spec,
          points: points.map(pointKey),
          bySource: countBy(points, (p) => p.source),
          faults: outcomes.length,
          passed,
          attemptsFailed: outcomes.filter((o) => o.attemptFailed).length,
          absorbed: outcomes.filter((o) => !o.attemptFailed).length,
          outcomes,
        },
        null,
        2,
      ),
    );
  }

  // --- points -------------------------------------------------------------

  private async onSecretsManagerCall(call: InterceptedCall): Promise<void> {
    const agent = `${String(call.headers['user-agent'] ?? '')} ${String(call.headers['x-amz-user-agent'] ?? '')}`;
    if (agent.includes(PROBE_AGENT) || !this.currentStep || !this.subjectArn) return;
    const invocation = String(call.headers['amz-sdk-invocation-id'] ?? '');
    const armed = this.armed;
    if (armed?.doomedInvocation && invocation === armed.doomedInvocation) {
      if (call.phase === armed.phase) throw namedServiceError('InternalServiceError', 'injected fault (retry of the faulted call)');
      return;
    }
    let key = this.callKeys.get(call.headers);
    if (!key) {
      const p: CrashPoint = { step: this.currentStep, source: 'secrets-manager', name: this.callName(call), occurrence: 0 };
      key = this.count(p);
      this.callKeys.set(call.headers, key);
    }
    if (!(await this.maybeFire(key, call.phase))) return;
    armed!.doomedInvocation = invocation;
    throw namedServiceError('InternalServiceError', `injected fault ${call.phase} ${call.op}`);
  }

  private async onStatement(s: ProxiedStatement): Promise<'continue' | 'drop'> {
    if (!this.currentStep || !this.subjectArn) return 'continue';
    const conn = s.connection;
    let key: string;
    if (s.phase === 'before') {
      key = this.count({ step: this.currentStep, source: 'database', name: s.summary, occurrence: 0 });
      this.sqlKeys.set(conn, key);
    } else {
      key = this.sqlKeys.get(conn) ?? `${this.currentStep} database ${s.summary} #?`;
    }
    return (await this.maybeFire(key, s.phase)) ? 'drop' : 'continue';
  }

  /** RDS applying a master password change: before it, a failure leaves the password as it was; a kill hits the function meanwhile. */
  private async onRdsApply(phase: FaultPhase): Promise<void> {
    if (!this.currentStep || !this.subjectArn) return;
    if (phase === 'before') this.rdsKey = this.count({ step: this.currentStep, source: 'rds', name: 'apply master password', occurrence: 0 });
    if (this.rdsKey && (await this.maybeFire(this.rdsKey, phase))) throw new Error('injected fault: RDS could not apply the password');
  }

  private count(p: CrashPoint): string {
    const base = `${p.step} ${p.source} ${p.name}`;
    const n = (this.counts.get(base) ?? 0) + 1;
    this.counts.set(base, n);
    const point = { ...p, occurrence: n };
    this.recording?.push(point);
    return pointKey(point);
  }

  /** Fires the armed fault if this is its point and phase: probes, then kills the function for `killed`. */
  private async maybeFire(key: string, phase: FaultPhase): Promise<boolean> {
    const armed = this.armed;
    if (!armed || armed.fired || armed.key !== key || armed.phase !== phase) return false;
    armed.fired = true;
    try {
      armed.logins = (await this.probe(armed.secretArn)).logins;
    } catch (e) {
      armed.probeError = (e as Error).message;
    }
    if (armed.kind === 'killed') this.local.killRotationProcess(this.childArn);
    return true;
  }

  private callName(call: InterceptedCall): string {
    const input = call.input;
    const master = this.master && input.SecretId === this.master.arn ? 'master ' : '';
    switch (call.op) {
      case 'GetSecretValue':
        return `GetSecretValue(${master}${String(input.VersionStage ?? (input.VersionId ? 'version' : 'AWSCURRENT'))})`;
      case 'PutSecretValue':
        return `PutSecretValue(${((input.VersionStages as string[] | undefined) ?? ['AWSCURRENT']).join(',')})`;
      case 'UpdateSecretVersionStage':
        return `UpdateSecretVersionStage(${String(input.VersionStage)})`;
      default:
        return `${call.op}${master ? '(master)' : ''}`;
    }
  }

  // --- subjects, rotation, probes -------------------------------------------

  private async rotate(arn: string, lambdaArn: string | undefined): Promise<RotationLifecycleEvent> {
    this.subjectArn = arn;
    this.currentStep = undefined;
    try {
      const r = await this.probeSm.send(
        new RotateSecretCommand({
          SecretId: arn,
          ClientRequestToken: randomUUID(),
          ...(lambdaArn ? { RotationLambdaARN: lambdaArn, RotationRules: { AutomaticallyAfterDays: 30 } } : {}),
        }),
      );
      return await this.local.waitForRotation(arn, { versionId: r.VersionId, timeoutMs: 90_000 });
    } finally {
      this.subjectArn = undefined;
      this.currentStep = undefined;
    }
  }

  /** Logs in with every labelled version; labels consistent = one AWSCURRENT, at most one AWSPREVIOUS, AWSPENDING absent or on AWSCURRENT. */
  async probe(arn: string): Promise<{ logins: string[]; consistent: boolean; labelsText: string }> {
    const out = await this.probeSm.send(new ListSecretVersionIdsCommand({ SecretId: arn, IncludeDeprecated: true }));
    const versions = (out.Versions ?? []).filter((v) => (v.VersionStages ?? []).some((s) => PROBED_LABELS.includes(s)));
    const logins: string[] = [];
    for (const v of versions) {
      let value: { username?: string; password?: string } | undefined;
      try {
        const got = await this.probeSm.send(new GetSecretValueCommand({ SecretId: arn, VersionId: v.VersionId }));
        value = JSON.parse(got.SecretString ?? '{}');
      } catch {
        value = undefined; // a value-less AWSPENDING (RotateSecret made it; createSecret has not filled it yet)
      }
      // A login refused for any reason (e.g. a half-synced clone without access to the database) does not count.
      if (value?.username && value.password && (await this.canLogin(value.username, value.password).catch(() => false))) {
        logins.push(...(v.VersionStages ?? []).filter((s) => PROBED_LABELS.includes(s)));
      }
    }
    const holders = (label: string) => (out.Versions ?? []).filter((v) => (v.VersionStages ?? []).includes(label));
    const current = holders('AWSCURRENT');
    const pending = holders('AWSPENDING');
    const consistent =
      current.length === 1 && holders('AWSPREVIOUS').length <= 1 && (pending.length === 0 || (pending.length === 1 && pending[0].VersionId === current[0].VersionId));
    const labelsText = (out.Versions ?? []).map((v) => `${v.VersionId?.slice(0, 8)}=[${(v.VersionStages ?? []).join(',')}]`).join(' ');
    return { logins: [...new Set(logins)].sort(), consistent, labelsText };
  }

  private canLogin(username: string, password: string): Promise<boolean> {
    const server = { host: '127.0.0.1', port: this.db.port, database: this.db.database };
    return this.spec.engine === 'postgres' ? canLogin(server, username, password, { ssl: 'disable' }) : canLoginMariadb(server, username, password, { ssl: 'disable' });
  }

  private async createSecret(fields: Record<string, unknown>): Promise<string> {
    const out = await this.probeSm.send(new CreateSecretCommand({ Name: `crash/${randomUUID()}`, SecretString: JSON.stringify(fields) }));
    return out.ARN!;
  }

  private secretFields(username: string, password: string, extra: Record<string, unknown> = {}) {
    return { engine: this.spec.engine, host: '127.0.0.1', port: this.proxy.port, username, password, dbname: this.db.database, ...extra };
  }

  private async createUser(name: string, password: string, opts: { createRole?: boolean } = {}): Promise<void> {
    if (this.spec.engine === 'postgres') {
      const c = new Client({ host: '127.0.0.1', port: this.db.port, user: this.db.superuser.username, password: this.db.superuser.password, database: this.db.database });
      await c.connect();
      try {
        await c.query(`CREATE ROLE ${c.escapeIdentifier(name)} LOGIN ${opts.createRole ? 'CREATEROLE' : ''} PASSWORD ${c.escapeLiteral(password)}`);
      } finally {
        await c.end();
      }
      return;
    }
    await this.db.query('CREATE USER ?@? IDENTIFIED BY ?', [name, '%', password]);
    await this.db.query(`GRANT SELECT ON \`${this.db.database.replace(/`/g, '``')}\`.* TO ?@?`, [name, '%']);
  }

  /** The alternating-users master: CREATEROLE on PostgreSQL (as on RDS); the server's administrator on MariaDB. */
  private async createMaster(): Promise<{ arn: string; username: string; password: string }> {
    if (this.spec.engine === 'postgres') {
      const password = randomBytes(12).toString('hex');
      await this.createUser('crash_master', password, { createRole: true });
      return { arn: await this.createSecret(this.secretFields('crash_master', password)), username: 'crash_master', password };
    }
    const { username, password } = this.db.superuser;
    return { arn: await this.createSecret(this.secretFields(username, password)), username, password };
  }

  private async createSubject(): Promise<{ arn: string; username: string }> {
    const username = `crash_${this.spec.strategy.replace(/-/g, '_')}_${++this.seq}`;
    const password = randomBytes(12).toString('hex');
    await this.createUser(username, password);
    if (this.spec.strategy === 'alternating-users') {
      return { arn: await this.createSecret(this.secretFields(username, password, { masterarn: this.master!.arn })), username };
    }
    if (this.spec.strategy === 'rds-master') {
      const identifier = `crash-db-${this.seq}`;
      this.rds!.addInstance({
        identifier,
        engine: this.spec.engine,
        host: '127.0.0.1',
        port: this.proxy.port,
        masterUsername: username,
        applyPassword: async (pw) => {
          await this.onRdsApply('before');
          await this.setPasswordAsAdmin(username, pw);
          await this.onRdsApply('after');
        },
      });
      return { arn: await this.createSecret(this.secretFields(username, password, { dbInstanceIdentifier: identifier })), username };
    }
    return { arn: await this.createSecret(this.secretFields(username, password)), username };
  }

  private async setPasswordAsAdmin(user: string, password: string): Promise<void> {
    if (this.spec.engine === 'postgres') {
      const c = new Client({ host: '127.0.0.1', port: this.db.port, user: this.db.superuser.username, password: this.db.superuser.password, database: this.db.database });
      await c.connect();
      try {
        await c.query(`ALTER ROLE ${c.escapeIdentifier(user)} WITH PASSWORD ${c.escapeLiteral(password)}`);
      } finally {
        await c.end();
      }
      return;
    }
    await this.db.query('SET PASSWORD FOR ?@? = PASSWORD(?)', [user, '%', password]);
  }
}

function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}
