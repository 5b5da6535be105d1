import type { Logger } from '@aws-lambda-powertools/logger';
import { differingFields, parseDatabaseSecret, type DatabaseSecret, type TargetField, type TlsMode } from '../core/database-secret';
import { RotationError, configurationError, conflictError, deadlineError } from '../core/errors';
import type { FunctionConfig } from '../core/function-config';
import type { RdsDirectory } from '../core/rds-directory';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS, type SecretMetadata, type SecretStore, type StoredVersion } from '../core/secret-store';
import type { ConnectionSettings, DatabaseEngine, DatabaseSession } from './engines/engine';
import { engineFor } from './engines';
import { VersionCache, type EarlyCredential, type EarlyLogin, type Prefetched } from './version-cache';
import type { RotationEvent } from './event';
import { passwordPolicyViolation } from '../core/password-policy';
import { effectiveTlsMode } from '../core/tls-policy';
import { ROTATED_TARGET_TAG, targetChangedError, targetFingerprint } from './rotated-target';

/** Less time than this for a login is not worth starting. */
const MIN_LOGIN_MS = 50;

export interface VersionedSecret {
  versionId: string;
  secret: DatabaseSecret;
}

/**
 * Everything a step needs, with each Secrets Manager read done at most once
 * per invocation.
 */
export class RotationContext {
  private cache = new Map<string, Promise<unknown>>();

  constructor(
    readonly event: RotationEvent,
    readonly store: SecretStore,
    readonly config: FunctionConfig,
    readonly logger: Logger,
    readonly metadata: SecretMetadata,
    /** Milliseconds left before the Lambda deadline. */
    readonly remainingMs: () => number,
    /** The RDS API, created on first use (only rds-master and RDS-managed master secrets need it). */
    readonly rds: () => RdsDirectory,
    /** Reads started before the contract checks, concurrently with DescribeSecret. */
    private readonly prefetched: Prefetched = {},
    /** Counts an EMF metric (by Step and Engine) for an event worth an alarm. */
    readonly count: (metric: string) => void = () => {},
    /** The container's cache of version values (a fresh one when none is given). */
    private readonly versionCache: VersionCache = new VersionCache(),
    /** True once the step's deadline passed and its [timeout] was reported: it may then change nothing more. */
    private readonly stopped: () => boolean = () => false,
  ) {}

  /** Refuses a change (or a login) once the step's deadline passed: the step was already reported as timed out. */
  private assertNotStopped(what: string): void {
    if (this.stopped()) throw deadlineError(`the step ran out of time before it could ${what}`);
  }

  /** Another secret (e.g. the master secret named by `masterarn`), read with the same client. */
  storeFor(secretId: string): SecretStore {
    return this.store.withSecretId(secretId);
  }

  /** AWSCURRENT of another secret; the read started with DescribeSecret when the handler could foresee it. */
  currentOf(secretId: string): Promise<StoredVersion | undefined> {
    const m = this.prefetched.master;
    return m && m.secretId === secretId ? m.value : this.once(`currentOf\n${secretId}`, () => this.storeFor(secretId).get(AWSCURRENT));
  }

  /** Writes the token's AWSPENDING value and remembers it for the later steps. */
  async putPending(value: string): Promise<void> {
    this.assertNotStopped('write the AWSPENDING value');
    await this.store.putPending(this.token, value, this.event.rotationToken);
    this.versionCache.put(this.store.secretId, this.token, value);
  }

  /** Moves AWSCURRENT to the token's version. */
  async promote(from: string | undefined): Promise<void> {
    this.assertNotStopped('move AWSCURRENT');
    await this.store.moveCurrent(this.token, from);
    this.versionCache.setCurrent(this.store.secretId, this.token);
  }

  get token(): string {
    return this.event.token;
  }

  /** The version AWSCURRENT is on, from DescribeSecret. */
  currentVersionId(): string | undefined {
    return Object.entries(this.metadata.versions).find(([, stages]) => stages.includes(AWSCURRENT))?.[0];
  }

  /** The secret's engine once AWSCURRENT was read (for metrics). */
  engineName?: string;

  current(): Promise<VersionedSecret> {
    return this.once('current', async () => {
      const speculative = this.prefetched.speculativeCurrent;
      const v = this.prefetched.current
        ? await this.prefetched.current
        : speculative && speculative.versionId === this.currentVersionId()
          ? speculative
          : await this.versionCache.readCurrent(this.store);
      if (!v) {
        throw configurationError('the secret has no AWSCURRENT value', 'Store the database credential in the secret (PutSecretValue) before turning rotation on.');
      }
      const secret = parseDatabaseSecret(v.secretString, AWSCURRENT);
      this.engineName = secret.engine;
      return { versionId: v.versionId, secret };
    });
  }

  /** The value stored under the token; undefined if there is none yet. */
  pendingOrUndefined(): Promise<DatabaseSecret | undefined> {
    return this.once('pending', async () => {
      const v = await (this.prefetched.pending ?? this.store.get(AWSPENDING, this.token));
      if (v) this.versionCache.put(this.store.secretId, v.versionId, v.secretString);
      return v ? parseDatabaseSecret(v.secretString, AWSPENDING) : undefined;
    });
  }

  /**
   * Refuses an AWSPENDING password the function's policy could not have
   * produced: whoever can write a value (PutSecretValue) could otherwise fill
   * the empty version RotateSecret creates and choose the next password.
   */
  assertPolicyPassword(pending: DatabaseSecret): void {
    const why = passwordPolicyViolation(pending.password, this.config.password, this.engine(pending).defaultExcludedCharacters);
    if (!why) return;
    this.count('PendingPasswordRefused');
    throw conflictError(
      `the AWSPENDING password does not meet the function's password policy: ${why}`,
      `The rotation function did not generate it. Find who wrote version ${this.token} (CloudTrail PutSecretValue), remove its AWSPENDING label (rotor doctor shows how), and rotate again. Nothing was changed.`,
      'PendingPasswordPolicy',
    );
  }

  async pending(): Promise<DatabaseSecret> {
    const p = await this.pendingOrUndefined();
    if (!p) {
      throw conflictError('the AWSPENDING version has no value yet', 'createSecret has not completed for this token; let Secrets Manager retry the rotation from the start.');
    }
    return p;
  }

  /** AWSPREVIOUS, if there is one with a parsable value; a broken previous is ignored with a warning. */
  previous(): Promise<VersionedSecret | undefined> {
    return this.once('previous', async () => {
      const v = await this.store.get(AWSPREVIOUS);
      if (!v) return undefined;
      try {
        return { versionId: v.versionId, secret: parseDatabaseSecret(v.secretString, AWSPREVIOUS) };
      } catch (e) {
        this.logger.warn('AWSPREVIOUS is not a usable credential; not trying it', { error: (e as RotationError).toLog?.() });
        return undefined;
      }
    });
  }

  /** Refuses a credential that points at another target than the current one (DESIGN invariant 3). */
  assertSameTarget(reference: DatabaseSecret, other: DatabaseSecret, otherLabel: string, mayDiffer: ReadonlyArray<TargetField>): void {
    const diff = differingFields(reference, other, mayDiffer);
    if (diff.length > 0) {
      throw conflictError(
        `the ${otherLabel} version differs from AWSCURRENT in ${diff.join(', ')}; only ${['password', ...mayDiffer].join(' and ')} may change during rotation`,
        otherLabel === 'AWSPENDING'
          ? `Refusing to act on another database or user. Remove the AWSPENDING label from version ${this.token} (rotor doctor shows how), check who wrote it, and rotate again.`
          : `Refusing to act on another database or user: AWSCURRENT may have been rewritten (check CloudTrail for PutSecretValue / UpdateSecretVersionStage on this secret). Put the right credential back as AWSCURRENT, then rotate again. Nothing was changed.`,
      );
    }
  }

  /**
   * Refuses a rotation whose AWSCURRENT names another target than the last
   * rotation recorded (the ${ROTATED_TARGET_TAG} tag), unless the deployment
   * allows it. Whoever can write a value can rewrite AWSCURRENT, so it is not
   * trusted to say where the new password goes. No tag yet: the first
   * rotation records it (trust on first use, docs/threat-model.md).
   */
  assertKnownTarget(current: DatabaseSecret, mayDiffer: ReadonlyArray<TargetField>): void {
    const recorded = this.metadata.tags[ROTATED_TARGET_TAG];
    if (recorded === undefined || recorded === targetFingerprint(current, mayDiffer)) return;
    if (this.config.allowTargetChange) {
      this.logger.warn('AWSCURRENT names another target than the last rotation; going on because ROTOR_ALLOW_TARGET_CHANGE is true');
      this.count('TargetChangeAllowed');
      return;
    }
    this.count('TargetChangeRefused');
    throw targetChangedError();
  }

  /**
   * What every step checks of AWSCURRENT before it acts: the recorded target
   * and the TLS floor. Refusing in every step (not only where a login
   * happens) gives one reason for one problem, whichever step runs.
   */
  assertCurrentAcceptable(current: DatabaseSecret, mayDiffer: ReadonlyArray<TargetField>): void {
    this.assertKnownTarget(current, mayDiffer);
    this.tlsModeFor(current);
    // A longer name would be cut by the server at login and in ALTER ROLE (PostgreSQL truncates
    // to 63 bytes): another role's password would change, and testSecret would then refuse.
    const engine = this.engine(current);
    const max = engine.maxUsernameLength(current.engine);
    const length = engine.usernameLength(current.username);
    if (length > max) {
      throw configurationError(
        `"username" is ${length} ${engine.family === 'postgres' ? 'bytes' : 'characters'} long; ${current.engine} allows at most ${max}`,
        'Fix "username" in the secret to the name the database knows. Nothing was changed.',
        'UsernameTooLong',
      );
    }
  }

  /**
   * Records the target of the credential becoming AWSCURRENT, when it is not recorded yet.
   * Resolves only once the tag holds it: by the write the handler started with DescribeSecret
   * (the target testSecret proved in this container), else by a write of its own.
   */
  async recordTarget(next: DatabaseSecret, mayDiffer: ReadonlyArray<TargetField>): Promise<void> {
    const fp = targetFingerprint(next, mayDiffer);
    const early = this.prefetched.targetRecord;
    if (early?.fingerprint === fp) {
      await early.written;
    } else {
      if (this.metadata.tags[ROTATED_TARGET_TAG] === fp) return;
      this.assertNotStopped('record the rotated target');
      await this.store.tag(ROTATED_TARGET_TAG, fp);
    }
    this.metadata.tags[ROTATED_TARGET_TAG] = fp;
  }

  /**
   * testSecret passed with `pending`: when the tag does not hold its target yet (the first
   * rotation, or a change ROTOR_ALLOW_TARGET_CHANGE allowed), this container's finishSecret
   * of the same token may write it concurrently with its DescribeSecret.
   */
  rememberProvenTarget(pending: DatabaseSecret, mayDiffer: ReadonlyArray<TargetField>): void {
    const fp = targetFingerprint(pending, mayDiffer);
    if (this.metadata.tags[ROTATED_TARGET_TAG] !== fp) this.versionCache.setTargetToRecord(this.store.secretId, this.token, fp);
  }

  engine(secret: DatabaseSecret): DatabaseEngine {
    return engineFor(secret.engine);
  }

  /** The TLS mode a login with `secret` uses; refuses one below the deployment's floor. */
  tlsModeFor(secret: DatabaseSecret, whose?: string): TlsMode {
    return effectiveTlsMode(secret.ssl, this.config.tlsMode, whose);
  }

  /**
   * TLS from the secret, never below the deployment's floor; timeouts never
   * run past the Lambda deadline less the margin (the step must have time to
   * report its own failure).
   */
  connectionSettings(secret: DatabaseSecret, whose?: string): ConnectionSettings {
    this.assertNotStopped(`log in to ${secret.host}:${secret.port}`);
    return connectionSettingsFor(secret, this.config, this.remainingMs(), whose);
  }

  /**
   * A session as `secret`. The login the handler started with DescribeSecret (VersionCache.setNextLogin)
   * is taken instead of a new one when it logs in with this very credential and TLS mode, i.e. when
   * DescribeSecret confirmed the cached version and the step's checks passed on it, and while its
   * statement limit (fixed at its connect) still fits the time left; else it is left for the handler to close.
   */
  login(secret: DatabaseSecret, whose?: string): Promise<DatabaseSession> {
    const settings = this.connectionSettings(secret, whose);
    const wanted = JSON.stringify(secret);
    // A session's statement limit was fixed at its connect: taken only while that limit still ends
    // before the deadline less the margin (else a slow DescribeSecret could let a statement outlive
    // the step). A warm-up the first statement may wait behind (at most WARM_LIMIT_MS) is within the margin.
    const early = this.prefetched.logins?.find((e) => !e.taken && e.tlsMode === settings.tlsMode
      && e.statementTimeoutMs <= settings.statementTimeoutMs && JSON.stringify(e.secret) === wanted);
    if (early) {
      early.taken = true;
      return early.session;
    }
    return this.engine(secret).connect(secret, settings);
  }

  /** A session, or undefined when the server refused these credentials. Other failures throw. */
  async tryLogin(secret: DatabaseSecret, label: string): Promise<DatabaseSession | undefined> {
    try {
      return await this.login(secret);
    } catch (e) {
      if (e instanceof RotationError && e.category === 'authentication') {
        this.logger.info(`${label} credential does not log in`, { code: e.code });
        return undefined;
      }
      throw e;
    }
  }

  /** `fn`'s promise, made once per step (invocation) for `key`: what a step reads or derives once. */
  once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = fn();
      this.cache.set(key, p);
    }
    return p;
  }
}

/** See RotationContext.connectionSettings. */
export function connectionSettingsFor(secret: DatabaseSecret, config: FunctionConfig, remainingMs: number, whose?: string): ConnectionSettings {
  const tlsMode = effectiveTlsMode(secret.ssl, config.tlsMode, whose);
  const budget = remainingMs - config.deadlineMarginMs;
  if (budget < MIN_LOGIN_MS) throw deadlineError(`too little time was left to log in to ${secret.host}:${secret.port}`);
  return {
    tlsMode,
    caFile: config.caFile,
    connectTimeoutMs: Math.min(config.connectTimeoutMs, budget),
    statementTimeoutMs: Math.min(config.statementTimeoutMs, budget),
  };
}

/**
 * Starts the logins the step will make first (VersionCache.takeNextLogin), before DescribeSecret
 * answers: a login changes nothing, and each credential was read and checked by this container's
 * previous step of the same token. One that cannot start (too little time, a TLS mode below the
 * floor) is left out: the step then logs in itself, and fails where it would have.
 */
export function startEarlyLogins(credentials: EarlyCredential[], config: FunctionConfig, remainingMs: number): EarlyLogin[] {
  const out: EarlyLogin[] = [];
  for (const { secret, whose, warm } of credentials) {
    let settings: ConnectionSettings;
    try {
      settings = connectionSettingsFor(secret, config, remainingMs, whose);
    } catch {
      continue;
    }
    const session = engineFor(secret.engine).connect(secret, settings);
    // Not awaited: a statement of the step queues behind it on the session.
    if (warm) session.then((s) => s.warm?.()).catch(() => undefined);
    else session.catch(() => undefined);
    out.push({ secret, tlsMode: settings.tlsMode, statementTimeoutMs: settings.statementTimeoutMs, session, taken: false });
  }
  return out;
}

/** Closes the early logins the step did not take (their failures were the step's to report, and it did not log in). */
export async function closeUntakenLogins(logins: EarlyLogin[] | undefined): Promise<void> {
  await Promise.all((logins ?? []).filter((e) => !e.taken).map((e) => {
    e.taken = true;
    return e.session.then((s) => s.close()).catch(() => undefined);
  }));
}
