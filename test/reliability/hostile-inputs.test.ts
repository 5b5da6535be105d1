/**
 * Hostile-input corpus (test/fixtures/hostile/*.json) run against the real
 * rotation handler, and for events also the real trigger handler, with real
 * PostgreSQL and MariaDB servers and the local Secrets Manager endpoint.
 *
 * For every case: a clear error (RotationError naming step, category and
 * action; or a trigger report with a reason), the database unchanged, the
 * secret unchanged, and no password of the case in any output. Cases marked
 * `expect: "success"` are legitimate inputs that must rotate; `"noop"` ones
 * must be accepted and change nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  TagResourceCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import { Client } from 'pg';
import * as mysql from 'mysql2/promise';
import { createRotationHandler } from '../../lambda/rotation/handler';
import { parseDatabaseSecret } from '../../lambda/core/database-secret';
import { ROTATED_TARGET_TAG, targetFingerprint } from '../../lambda/rotation/rotated-target';
import { createTriggerHandler } from '../../lambda/trigger/handler';
import { RotationError } from '../../lambda/core/errors';
import type { TriggerReport } from '../../lambda/trigger/report';
import { fakeContext } from '../support/lambda-context';
import { startRotationFixture, versionsOf, type RotationFixture, type TestEngine } from '../support/rotation-fixture';

/* eslint-disable @typescript-eslint/no-explicit-any */

type Feed = 'rotation-event' | 'trigger-event' | 'secret' | 'pending' | 'credentials';
type Step = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

interface ExpectedError {
  category: string;
  /** The step the message must name; null when the event names no valid step. Cases that list steps expect each step they run. */
  step: Step | null;
  /** Case-insensitive fragment of the message. */
  message: string;
}

interface ExpectedTrigger {
  /** The report's error category (the event was not usable). */
  error?: 'invalid-event' | 'configuration';
  /** Every secret named was skipped with this reason. */
  skipped?: string;
  /** Fragment of the report's error message or skip detail. */
  message?: string;
}

interface HostileCase {
  id: string;
  description: string;
  feeds: Feed;
  engines?: TestEngine[];
  input: {
    /** rotation-event / trigger-event: the event, with placeholders. */
    event?: unknown;
    /** Overrides (null removes) of the valid AWSCURRENT secret JSON. */
    secret?: Record<string, unknown>;
    /** The raw AWSCURRENT SecretString instead of JSON. */
    secretString?: unknown;
    /** Overrides (null removes) of the valid AWSCURRENT JSON, stored as the AWSPENDING value. */
    pending?: Record<string, unknown>;
    /** The raw AWSPENDING SecretString. */
    pendingString?: unknown;
    /** The database user and its password (defaults: a fresh name, random hex). */
    username?: unknown;
    password?: unknown;
    /** Create the database user with this password rather than `password` (the secret's). */
    rolePassword?: unknown;
    /** Pad the AWSCURRENT JSON (a "padding" field) to exactly this many characters. */
    padTo?: number;
    /** Do not create the database user. */
    noRole?: boolean;
    /** Give the secret an AWSPREVIOUS version. */
    withPrevious?: boolean;
    /** Tag the secret as managed by the trigger's deployment. */
    managed?: boolean;
    /**
     * The target the last rotation recorded (the rotor:rotated-target tag), as overrides (null
     * removes) of the valid secret JSON; the secret's AWSCURRENT (`secret`) then stands for a
     * value a writer put there afterwards.
     */
    rotatedTarget?: Record<string, unknown>;
    /** Steps to run (each with the case's token); default createSecret, or all four for success. */
    steps?: Step[];
  };
  expect: 'error' | 'success' | 'noop';
  error?: ExpectedError;
  /** Per-engine expectation where the engines legitimately differ. */
  errorByEngine?: Partial<Record<TestEngine, ExpectedError>>;
  /** For event cases: what the trigger handler must report. */
  trigger?: ExpectedTrigger;
}

const CORPUS_DIR = path.join(__dirname, '..', 'fixtures', 'hostile');
const corpus: HostileCase[] = readdirSync(CORPUS_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .flatMap((f) => (JSON.parse(readFileSync(path.join(CORPUS_DIR, f), 'utf8')) as { cases: HostileCase[] }).cases);

const DEPLOYMENT = 'rotor-hostile';
const ALL_STEPS: Step[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];
const enginesOf = (c: HostileCase): TestEngine[] =>
  c.engines ?? (c.feeds === 'rotation-event' || c.feeds === 'trigger-event' ? ['postgres'] : ['postgres', 'mariadb']);

describe('hostile-input corpus', () => {
  test('has at least 60 error cases, unique ids, and every category', () => {
    const ids = corpus.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(corpus.filter((c) => c.expect === 'error').length).toBeGreaterThanOrEqual(60);
    for (const feed of ['rotation-event', 'trigger-event', 'secret', 'pending', 'credentials']) {
      expect(corpus.filter((c) => c.feeds === feed).length).toBeGreaterThan(0);
    }
    for (const c of corpus) {
      expect(c.description.length).toBeGreaterThan(0);
      if (c.expect === 'error' && c.feeds !== 'trigger-event') expect(c.error ?? c.errorByEngine).toBeDefined();
      if (c.feeds === 'trigger-event') expect(c.trigger).toBeDefined();
    }
  });
});

/** Expands placeholders: "$NAME" / "${NAME}" in strings, {"$repeat": s, "times": n}, {"$array": v, "times": n}, {"$concat": [...]}, {"$json": v}. */
function expand(v: unknown, vars: Record<string, unknown>): unknown {
  if (typeof v === 'string') {
    if (/^\$[A-Z_]+$/.test(v) && v in vars) return vars[v];
    return v.replace(/\$\{([A-Z_]+)\}/g, (m, k: string) => (`$${k}` in vars ? String(vars[`$${k}`]) : m));
  }
  if (Array.isArray(v)) return v.map((x) => expand(x, vars));
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('$repeat' in o) return String(expand(o.$repeat, vars)).repeat(Number(o.times));
    if ('$array' in o) return Array.from({ length: Number(o.times) }, () => expand(o.$array, vars));
    if ('$concat' in o) return (o.$concat as unknown[]).map((x) => String(expand(x, vars))).join('');
    if ('$json' in o) return JSON.stringify(expand(o.$json, vars));
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, expand(x, vars)]));
  }
  return v;
}

function withOverrides(base: Record<string, unknown>, overrides: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides ?? {})) {
    if (v === null) delete out[k];
    // defineProperty: an override named "__proto__" is a key of the JSON, not a prototype.
    else Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Everything written to stdout/stderr while `fn` runs. */
async function captured<T>(fn: () => Promise<T>): Promise<{ result?: T; error?: unknown; output: string }> {
  const chunks: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const capture = (chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    return { result: await fn(), output: chunks.join('') };
  } catch (error) {
    return { error, output: chunks.join('') };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** Forms a password could take in output: raw, JSON-escaped, and (for long ones) every 8-character window. */
function leakProbes(passwords: string[]): string[] {
  const probes = new Set<string>();
  for (const p of passwords) {
    if (typeof p !== 'string' || p.length < 4) continue;
    for (const form of [p, JSON.stringify(p).slice(1, -1)]) {
      probes.add(form);
      // Windows of length 8 of long passwords; capped so a 1000-character value stays cheap.
      if (form.length > 8) {
        for (let i = 0; i + 8 <= form.length && i < 256; i++) {
          const w = form.slice(i, i + 8);
          // A window of one repeated character says nothing about a leak.
          if (new Set(w).size > 2) probes.add(w);
        }
      }
    }
  }
  return [...probes];
}

function leaksIn(text: string, passwords: string[]): string[] {
  return leakProbes(passwords).filter((p) => text.includes(p));
}

function describeError(e: unknown): string {
  if (e instanceof RotationError) return `${e.message}\n${e.stack ?? ''}\n${JSON.stringify(e.toLog())}\n${e.action}`;
  if (e instanceof Error) return `${e.message}\n${e.stack ?? ''}`;
  return String(e);
}

/** One superuser connection per engine for setup and snapshots (a TLS handshake per query would dominate the run time). */
interface Admin {
  query(sql: string, params?: unknown[]): Promise<any[]>;
  createRole(name: string, password: string): Promise<void>;
  end(): Promise<void>;
}

async function connectAdmin(f: RotationFixture): Promise<Admin> {
  const ca = readFileSync(f.pg.caFile!, 'utf8');
  const { username, password } = f.pg.superuser;
  if (f.engine === 'postgres') {
    const c = new Client({ host: 'localhost', port: f.pg.port, user: username, password, database: f.pg.database, ssl: { ca, servername: 'localhost' } });
    c.on('error', () => undefined);
    await c.connect();
    return {
      query: async (sql, params) => (await c.query(sql, params as unknown[])).rows,
      createRole: async (name, pw) => {
        await c.query(`CREATE ROLE ${c.escapeIdentifier(name)} LOGIN PASSWORD ${c.escapeLiteral(pw)}`);
      },
      end: () => c.end(),
    };
  }
  const c = await mysql.createConnection({ host: 'localhost', port: f.pg.port, user: username, password, database: f.pg.database, ssl: { ca } });
  c.on('error', () => undefined);
  return {
    query: async (sql, params) => (await c.query(sql, params))[0] as any[],
    createRole: async (name, pw) => {
      await c.query('CREATE USER ?@? IDENTIFIED BY ?', [name, '%', pw]);
      await c.query(`GRANT SELECT ON \`${f.pg.database.replace(/`/g, '``')}\`.* TO ?@?`, [name, '%']);
    },
    end: () => c.end(),
  };
}

interface EngineHarness {
  admin: Admin;
  f: RotationFixture;
  rotation: (event: unknown) => Promise<void>;
  trigger: (event: unknown) => Promise<TriggerReport>;
  stubArn: string;
}

async function startHarness(engine: TestEngine): Promise<EngineHarness> {
  const f = await startRotationFixture({ engine });
  // Logs at DEBUG to stdout, captured per call; metrics stay disabled (jest-env).
  const logger = new Logger({ serviceName: 'rotor-rotation', logLevel: 'DEBUG' });
  // A policy the corpus's hand-written AWSPENDING passwords meet (16+ characters, no class required,
  // nothing but space excluded), so each case reaches the check it is about; the policy check itself
  // has its own cases (pend-policy-*) and tests (test/threat).
  const rotationHandler = createRotationHandler({
    secretsManager: f.sm, logger,
    env: { ROTOR_TLS_CA_FILE: f.pg.caFile!, ROTOR_PASSWORD_LENGTH: '16', ROTOR_REQUIRE_EACH_INCLUDED_TYPE: 'false', ROTOR_EXCLUDE_CHARACTERS: ' ' },
  });
  const triggerLogger = new Logger({ serviceName: 'rotor-trigger', logLevel: 'DEBUG' });
  const triggerHandler = createTriggerHandler({ secretsManager: f.sm, env: { ROTOR_DEPLOYMENT_ID: DEPLOYMENT }, logger: triggerLogger });
  // A rotation function that always fails: RotateSecret with it leaves an
  // AWSPENDING version without a value, which the hostile steps then target.
  const stubArn = f.local.lambdaArn('rotor-hostile-parked');
  f.local.registerRotationFunction(stubArn, {
    kind: 'in-process',
    handler: async () => {
      throw new Error('parked: the test invokes the steps itself');
    },
  });
  return {
    f,
    admin: await connectAdmin(f),
    stubArn,
    rotation: (event) => rotationHandler(event, fakeContext(30_000)) as Promise<void>,
    trigger: (event) => triggerHandler(event, fakeContext(30_000)) as Promise<TriggerReport>,
  };
}

async function dbSnapshot(h: EngineHarness): Promise<string> {
  const { f } = h;
  const sql = f.engine === 'postgres'
    ? 'SELECT rolname, rolpassword, rolcanlogin, rolsuper FROM pg_authid ORDER BY rolname'
    : 'SELECT user, host, authentication_string, plugin FROM mysql.user ORDER BY user, host';
  return JSON.stringify(await h.admin.query(sql));
}

async function secretSnapshot(sm: SecretsManagerClient, arn: string): Promise<string> {
  const versions = await versionsOf(sm, arn);
  const values: Array<{ id?: string; stages: string[]; value?: string }> = [];
  for (const v of versions) {
    const value = await sm.send(new GetSecretValueCommand({ SecretId: arn, VersionId: v.id })).then((o) => o.SecretString, () => undefined);
    values.push({ ...v, value });
  }
  return JSON.stringify(values);
}

let caseCounter = 0;

interface Prepared {
  arn: string;
  name: string;
  token: string;
  user: string;
  rolePassword?: string;
  passwords: string[];
  /** The AWSCURRENT SecretString the case stored. */
  currentString: string;
  vars: Record<string, unknown>;
}

async function prepare(h: EngineHarness, c: HostileCase): Promise<Prepared> {
  const { f } = h;
  const n = ++caseCounter;
  const input = c.input;
  const baseVars: Record<string, unknown> = {
    $ENGINE: f.engine,
    $OTHER_ENGINE: f.engine === 'postgres' ? 'mysql' : 'postgres',
    $PORT: f.pg.port,
    $DB: f.pg.database,
    $N: n,
    $SUPERUSER: f.pg.superuser.username,
    $AURORA: f.engine === 'postgres' ? 'aurora-postgresql' : 'aurora-mysql',
  };
  const user = input.username !== undefined ? String(expand(input.username, baseVars)) : `hostile_${n}`;
  const password = input.password !== undefined ? String(expand(input.password, baseVars)) : randomBytes(12).toString('hex');
  const rolePassword = input.noRole ? undefined : input.rolePassword !== undefined ? String(expand(input.rolePassword, baseVars)) : password;
  const vars = { ...baseVars, $USER: user, $PASSWORD: password };
  const light = c.feeds === 'trigger-event' && !input.managed;
  if (rolePassword !== undefined && !light) await h.admin.createRole(user, rolePassword);

  const base = f.secretFor(user, password);
  const currentJson = input.secretString !== undefined
    ? String(expand(input.secretString, vars))
    : JSON.stringify(withOverrides(base, expand(input.secret, vars) as Record<string, unknown> | undefined));
  let current = currentJson;
  if (input.padTo !== undefined) {
    const obj = JSON.parse(current);
    const bare = JSON.stringify({ ...obj, padding: '' }).length;
    current = JSON.stringify({ ...obj, padding: 'p'.repeat(input.padTo - bare) });
    expect(current.length).toBe(input.padTo);
  }
  const previous = input.withPrevious ? JSON.stringify({ ...base, note: 'the previous version' }) : undefined;
  const name = `hostile/${c.id}/${f.engine}/${n}`;
  const created = await f.sm.send(new CreateSecretCommand({
    Name: name,
    SecretString: previous ?? current,
    Tags: input.managed ? [{ Key: 'rotor:managed-by', Value: DEPLOYMENT }] : undefined,
  }));
  const arn = created.ARN!;
  if (previous) await f.sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: current }));
  if (input.rotatedTarget !== undefined) {
    const recorded = parseDatabaseSecret(JSON.stringify(withOverrides(base, expand(input.rotatedTarget, vars) as Record<string, unknown>)), 'rotatedTarget');
    await f.sm.send(new TagResourceCommand({ SecretId: arn, Tags: [{ Key: ROTATED_TARGET_TAG, Value: targetFingerprint(recorded, []) }] }));
  }

  // Park a rotation: the stub fails, the AWSPENDING label stays on a version without a value.
  if (!light) {
    const parked = await f.rotate(arn, h.stubArn);
    expect(parked.eventName).toBe('RotationFailed');
  }
  const labels = await f.labels(arn);
  const token = Object.keys(labels).find((v) => labels[v].includes('AWSPENDING')) ?? 'no-pending-version-000000000000000000';
  const currentVersion = Object.keys(labels).find((v) => labels[v].includes('AWSCURRENT'))!;
  const previousVersion = Object.keys(labels).find((v) => labels[v].includes('AWSPREVIOUS'));

  const passwords = [password, ...(rolePassword ? [rolePassword] : [])];
  if (input.pending !== undefined || input.pendingString !== undefined) {
    const pendingString = input.pendingString !== undefined
      ? String(expand(input.pendingString, vars))
      : JSON.stringify(withOverrides(base, expand(input.pending, vars) as Record<string, unknown>));
    await f.sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token, SecretString: pendingString, VersionStages: ['AWSPENDING'] }));
    try {
      const p = JSON.parse(pendingString)?.password;
      if (typeof p === 'string') passwords.push(p);
    } catch {
      // not JSON: nothing to add
    }
  }
  // Another secret (not managed, no rotation) for events that name the wrong one.
  let otherArn: string | undefined;
  let otherVersion: string | undefined;
  if (JSON.stringify(input).includes('$OTHER_')) {
    const other = await f.sm.send(new CreateSecretCommand({ Name: `${name}/other`, SecretString: JSON.stringify(f.secretFor(`${user}_other`, 'other-Secret-Zq8v4kLm')) }));
    passwords.push('other-Secret-Zq8v4kLm');
    otherArn = other.ARN!;
    otherVersion = other.VersionId!;
  }

  return {
    arn, name, token, user, rolePassword, passwords, currentString: current,
    vars: {
      ...vars,
      $ARN: arn,
      $NAME: name,
      $TOKEN: token,
      $CURRENT_VERSION: currentVersion,
      $PREVIOUS_VERSION: previousVersion ?? 'no-previous-version-0000000000000000',
      $OTHER_ARN: otherArn,
      $OTHER_VERSION: otherVersion,
      $MISSING_ARN: arn.replace(/-[A-Za-z0-9]{6}$/, '-zzzzzz'),
    },
  };
}

function expectationFor(c: HostileCase, engine: TestEngine): ExpectedError {
  const e = c.errorByEngine?.[engine] ?? c.error;
  if (!e) throw new Error(`case ${c.id} has no expected error for ${engine}`);
  return e;
}

function checkRotationError(c: HostileCase, engine: TestEngine, err: unknown, step: Step | undefined): void {
  const exp = expectationFor(c, engine);
  const where = `${c.id} (${engine}${step ? `, ${step}` : ''})`;
  if (!(err instanceof RotationError)) {
    throw new Error(`${where}: expected a RotationError, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }
  const got = { category: err.category, step: err.step ?? null, fragment: err.message.toLowerCase().includes(exp.message.toLowerCase()) };
  const want = { category: exp.category, step: step ?? exp.step, fragment: true };
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${where}: expected ${JSON.stringify({ ...want, message: exp.message })}, got ${JSON.stringify(got)}: ${err.message}`);
  }
  expect(err.message).toContain(`[${err.category}]`);
  if (err.step) expect(err.message.startsWith(`${err.step}: `)).toBe(true);
  expect(err.action.length).toBeGreaterThan(10);
  expect(err.message).toContain(err.action);
}

async function runCase(h: EngineHarness, c: HostileCase): Promise<void> {
  const { f } = h;
  const p = await prepare(h, c);
  const dbBefore = await dbSnapshot(h);
  const secretBefore = await secretSnapshot(f.sm, p.arn);
  const otherArn = p.vars.$OTHER_ARN as string | undefined;
  const otherBefore = otherArn ? await secretSnapshot(f.sm, otherArn) : undefined;
  const eventsBefore = f.local.events().length;
  let output = '';
  const errors: unknown[] = [];

  if (c.feeds !== 'trigger-event') {
    const steps: Array<Step | undefined> = c.feeds === 'rotation-event' ? [undefined] : c.input.steps ?? (c.expect === 'error' ? ['createSecret'] : ALL_STEPS);
    for (const step of steps) {
      const event = step ? { Step: step, SecretId: p.arn, ClientRequestToken: p.token } : expand(c.input.event, p.vars);
      const r = await captured(() => h.rotation(event));
      output += r.output;
      if (c.expect === 'error') {
        if (r.error === undefined) throw new Error(`${c.id} (${f.engine}${step ? `, ${step}` : ''}): expected an error, the step succeeded`);
        checkRotationError(c, f.engine, r.error, step);
        errors.push(r.error);
      } else if (r.error !== undefined) {
        throw new Error(`${c.id} (${f.engine}${step ? `, ${step}` : ''}): expected ${c.expect}, got ${describeError(r.error)}`);
      }
    }
  }

  if (c.feeds === 'trigger-event' || c.feeds === 'rotation-event') {
    const event = expand(c.input.event, p.vars);
    const r = await captured(() => h.trigger(event));
    output += r.output;
    if (r.error !== undefined) throw new Error(`${c.id}: the trigger handler threw: ${describeError(r.error)}`);
    const report = r.result!;
    const exp: ExpectedTrigger = c.trigger ?? { error: 'configuration', message: 'not handled by the trigger function' };
    expect(report.rotated).toEqual([]);
    expect(report.failed).toEqual([]);
    if (exp.error) {
      expect({ id: c.id, category: report.error?.category }).toEqual({ id: c.id, category: exp.error });
      if (exp.message) expect({ id: c.id, message: report.error!.message }).toEqual({ id: c.id, message: expect.stringContaining(exp.message) });
    }
    if (exp.skipped) {
      expect(report.error).toBeUndefined();
      expect(report.skipped.length).toBeGreaterThan(0);
      for (const s of report.skipped) {
        expect({ id: c.id, reason: s.reason }).toEqual({ id: c.id, reason: exp.skipped });
        if (exp.message) expect(s.detail).toContain(exp.message);
      }
    }
    output += JSON.stringify(report);
  }

  // (2) the database: unchanged, or (success) only this user's password changed.
  const dbAfter = await dbSnapshot(h);
  if (c.expect === 'success') {
    const newPassword = (await f.current(p.arn)).password as string;
    p.passwords.push(newPassword);
    expect(newPassword).not.toBe(p.rolePassword);
    expect(await f.canLogin(p.user, newPassword)).toBe(true);
    expect(await f.canLogin(p.user, p.rolePassword!)).toBe(false);
    const users = (s: string) => (JSON.parse(s) as any[]).map((r) => `${r.rolname ?? r.User ?? r.user}@${r.host ?? r.Host ?? ''}`);
    expect(users(dbAfter)).toEqual(users(dbBefore));
    expect((await f.labels(p.arn))[p.token]).toContain('AWSCURRENT');
    // Every other field survives the rotation as stored, in its order (__proto__ and the like are data).
    const fields = (text: string) => Object.entries(JSON.parse(text) as Record<string, unknown>).filter(([k]) => k !== 'password');
    const afterString = (await f.sm.send(new GetSecretValueCommand({ SecretId: p.arn }))).SecretString!;
    expect({ id: c.id, fields: fields(afterString) }).toEqual({ id: c.id, fields: fields(p.currentString) });
  } else {
    expect({ id: c.id, db: dbAfter }).toEqual({ id: c.id, db: dbBefore });
    if (p.rolePassword !== undefined && !(c.feeds === 'trigger-event' && !c.input.managed)) expect({ id: c.id, login: await f.canLogin(p.user, p.rolePassword) }).toEqual({ id: c.id, login: true });
    // (3) the secret: versions, labels and values unchanged.
    expect({ id: c.id, secret: await secretSnapshot(f.sm, p.arn) }).toEqual({ id: c.id, secret: secretBefore });
  }
  if (otherArn) expect({ id: c.id, other: await secretSnapshot(f.sm, otherArn) }).toEqual({ id: c.id, other: otherBefore });
  if (c.feeds === 'trigger-event' || c.feeds === 'rotation-event') {
    // The trigger started no rotation.
    expect(f.local.events().slice(eventsBefore).filter((e) => e.eventName === 'RotationStarted')).toEqual([]);
  }

  // (4) no password of the case in any output.
  const everything = `${output}\n${errors.map(describeError).join('\n')}\n${JSON.stringify(f.local.events().slice(eventsBefore))}`;
  expect({ id: c.id, leaks: leaksIn(everything, p.passwords) }).toEqual({ id: c.id, leaks: [] });
}

for (const engine of ['postgres', 'mariadb'] as TestEngine[]) {
  const cases = corpus.filter((c) => enginesOf(c).includes(engine));
  describe(`${engine}: hostile inputs`, () => {
    let h: EngineHarness;
    beforeAll(async () => {
      h = await startHarness(engine);
    }, 60_000);
    afterAll(async () => {
      await h?.admin.end();
      await h?.f.stop();
    });
    test.each(cases.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
      await runCase(h, c);
    });
  });
}
