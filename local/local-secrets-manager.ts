import { lookupEvents } from './cloudtrail/lookup-events';
import { LambdaInvoker } from './lambda/invoker';
import type { RotationFunction } from './lambda/types';
import { isSecretArn, lambdaFunctionArn } from './secrets-manager/arn';
import { FaultInjector, type CallInterceptor, type FaultSpec } from './secrets-manager/faults';
import { LifecycleLog, type RotationLifecycleEvent } from './secrets-manager/lifecycle-events';
import type { OperationContext } from './secrets-manager/operations/context';
import { seedSecret, type SeedSecretInput } from './secrets-manager/operations/secrets';
import { Paginator } from './secrets-manager/pagination';
import { StatePersistence } from './secrets-manager/persistence';
import { RotationDriver, type InvocationObserver } from './secrets-manager/rotation-driver';
import { SecretsManagerHttpServer } from './secrets-manager/server';
import { SecretStore } from './secrets-manager/store';

export interface LocalSecretsManagerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 'us-east-1' */
  region?: string;
  /** @default '000000000000' */
  accountId?: string;
  /** Keep state in this JSON file (loaded at start, saved atomically after every change). */
  statePath?: string;
  rotation?: {
    /** Attempts of a whole rotation, the first included. @default 5 */
    maxAttempts?: number;
    /** Wait before the first retry; doubles each time. @default 500 */
    initialBackoffMs?: number;
    /** @default 10000 */
    maxBackoffMs?: number;
    /** Timeout of one step's invocation, unless a child-process function sets timeoutMs. @default 30000 */
    stepTimeoutMs?: number;
  };
  /** The clock for every date the service records (CreatedDate, LastAccessedDate, NextRotationDate, deletion windows...). */
  clock?: () => Date;
  /** Echo child-process rotation function output to stderr. @default false (kept in memory, see functionLogs) */
  echoFunctionLogs?: boolean;
}

export type { RotationLifecycleEvent } from './secrets-manager/lifecycle-events';
export type { FaultSpec, CallInterceptor, InterceptedCall } from './secrets-manager/faults';
export type { InvocationObserver, ObservedInvocation } from './secrets-manager/rotation-driver';

/** Fault injection and rate limits, also reachable over HTTP at /_rotor/faults. */
export interface LocalFaults {
  /** Limits an operation (or '*') to `tps` requests per second (token bucket); `undefined` removes the limit. */
  setRateLimit(op: string, tps: number | undefined): void;
  inject(f: FaultSpec): void;
  /**
   * Calls `fn` before and after every operation is applied (undefined removes
   * it). It may wait or throw a ServiceError (e.g. from `namedServiceError`).
   * In-process only; for crash-point tests.
   */
  setInterceptor(fn: CallInterceptor | undefined): void;
  /** Removes every injected fault, rate limit and interceptor. */
  clear(): void;
}

/**
 * A Secrets Manager-compatible endpoint on this machine, strict where AWS is
 * strict, with rotation functions invoked the way Secrets Manager invokes
 * Lambda. See docs/local-endpoint.md.
 */
export class LocalSecretsManager {
  /** e.g. http://127.0.0.1:43123 */
  readonly endpoint: string;
  readonly region: string;
  readonly accountId: string;
  readonly faults: LocalFaults;

  private constructor(
    private readonly parts: {
      endpoint: string;
      store: SecretStore;
      server: SecretsManagerHttpServer;
      invoker: LambdaInvoker;
      driver: RotationDriver;
      log: LifecycleLog;
      faults: FaultInjector;
      persistence?: StatePersistence;
      context: OperationContext;
    },
  ) {
    this.endpoint = parts.endpoint;
    this.region = parts.store.region;
    this.accountId = parts.store.accountId;
    this.faults = parts.faults;
  }

  static async start(opts: LocalSecretsManagerOptions = {}): Promise<LocalSecretsManager> {
    const region = opts.region ?? 'us-east-1';
    const accountId = opts.accountId ?? '000000000000';
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) throw new Error(`not a Region name: ${region}`);
    if (!/^\d{12}$/.test(accountId)) throw new Error(`an account id is 12 digits: ${accountId}`);
    const clock = opts.clock ?? (() => new Date());
    const store = new SecretStore(region, accountId, clock);
    const persistence = opts.statePath ? new StatePersistence(opts.statePath, store) : undefined;
    await persistence?.load();

    let endpoint = '';
    const invoker = new LambdaInvoker({
      region,
      endpoint: () => endpoint,
      defaultTimeoutMs: opts.rotation?.stepTimeoutMs ?? 30_000,
      echoLogs: opts.echoFunctionLogs,
    });
    const log = new LifecycleLog();
    const driver = new RotationDriver(store, invoker, log, {
      maxAttempts: opts.rotation?.maxAttempts ?? 5,
      initialBackoffMs: opts.rotation?.initialBackoffMs ?? 500,
      maxBackoffMs: opts.rotation?.maxBackoffMs ?? 10_000,
    });
    const faults = new FaultInjector();
    const context: OperationContext = { store, paginator: new Paginator(), rotations: driver };
    const eventFilter = eventFilterFor(store);
    const server = new SecretsManagerHttpServer({
      context, faults, persistence, control: { store, log, faults, eventFilter },
      // CloudTrail LookupEvents over the lifecycle events (same port: AWS_ENDPOINT_URL_CLOUDTRAIL).
      lookupEvents: (input) => lookupEvents(input, { events: () => log.list(), region, accountId, now: () => store.now() }),
    });
    if (persistence) {
      // Changes made outside a request (rotation bookkeeping) are saved too.
      store.onChange(() => {
        persistence.save().catch((e: Error) => process.stderr.write(`rotor local: could not save the state file: ${e.message}\n`));
      });
    }
    const address = await server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    endpoint = `http://${host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host}:${address.port}`;
    return new LocalSecretsManager({ endpoint, store, server, invoker, driver, log, faults, persistence, context });
  }

  /** Makes `fn` answer invocations of `lambdaArn` (replacing an earlier registration). */
  registerRotationFunction(lambdaArn: string, fn: RotationFunction): void {
    this.parts.invoker.register(lambdaArn, fn);
  }

  /** arn:aws:lambda:<region>:<account>:function:<name> */
  lambdaArn(name: string): string {
    return lambdaFunctionArn(this.region, this.accountId, name);
  }

  /** Rotation lifecycle events, oldest first; `secretId` is a name or an ARN. */
  events(filter: { secretId?: string } = {}): RotationLifecycleEvent[] {
    return this.parts.log.list(filter.secretId ? eventFilterFor(this.parts.store)(filter.secretId) : undefined);
  }

  /**
   * Resolves with the event that ended a rotation of the secret:
   * RotationSucceeded, RotationAbandoned, RotationFailed after the last
   * attempt, or TestRotationSucceeded/Failed for RotateImmediately=false.
   * With `versionId`, that rotation's end (at once if it already ended);
   * without, the running rotation's end, or the latest ended one.
   */
  waitForRotation(secretId: string, opts: { versionId?: string; timeoutMs?: number } = {}): Promise<RotationLifecycleEvent> {
    const ofSecret = eventFilterFor(this.parts.store)(secretId);
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const versionId = opts.versionId ?? (ofSecret.arn ? this.parts.driver.activeToken(ofSecret.arn) : undefined);
    if (versionId !== undefined) {
      const matches = (e: RotationLifecycleEvent) => ofSecret(e) && e.versionId === versionId;
      const ended = this.parts.log.latestTerminal(matches);
      return ended ? Promise.resolve(ended) : this.parts.log.nextTerminal(matches, timeoutMs, `${secretId} (version ${versionId})`);
    }
    const ended = this.parts.log.latestTerminal(ofSecret);
    return ended ? Promise.resolve(ended) : this.parts.log.nextTerminal(ofSecret, timeoutMs, secretId);
  }

  /** Resolves when no rotation is running. */
  idle(): Promise<void> {
    return this.parts.driver.idle();
  }

  /** Calls `fn` when the rotation driver starts and ends each step's invocation (undefined removes it). */
  observeInvocations(fn: InvocationObserver | undefined): void {
    this.parts.driver.observer = fn;
  }

  /** Kills the warm child process of a child-process rotation function (an invocation in progress fails with Runtime.ExitError). */
  killRotationProcess(lambdaArn: string): void {
    this.parts.invoker.kill(lambdaArn);
  }

  /** Recent stdout/stderr lines of a child-process rotation function. */
  functionLogs(lambdaArn: string): string[] {
    return this.parts.invoker.logs(lambdaArn);
  }

  /**
   * Creates a secret as another AWS service would: reserved `aws:` tags and
   * an OwningService are allowed (Secrets Manager then refuses writes to it).
   * Not an AWS operation; for tests and demos of managed secrets.
   */
  seedSecret(input: SeedSecretInput): { arn: string; name: string; versionId?: string } {
    return seedSecret(input, this.parts.context);
  }

  /** Closes the server, stops rotations, kills child processes and writes the state file a last time. */
  async stop(): Promise<void> {
    await this.parts.server.close();
    this.parts.invoker.closeAll();
    await this.parts.driver.stopAll(2_000);
    this.parts.invoker.closeAll();
    await this.parts.persistence?.save();
  }
}

/** Matches events of a secret given by name, full ARN or partial ARN. */
function eventFilterFor(store: SecretStore): (secretId: string) => ((e: RotationLifecycleEvent) => boolean) & { arn?: string } {
  return (secretId) => {
    let arn: string | undefined;
    try {
      arn = store.resolve(secretId).arn;
    } catch {
      arn = isSecretArn(secretId) ? secretId : undefined;
    }
    const f = (e: RotationLifecycleEvent) => (arn !== undefined ? e.secretArn === arn : e.secretName === secretId);
    return Object.assign(f, { arn });
  };
}

/** Client settings for the local endpoint: `new SecretsManagerClient(localClientConfig(local.endpoint, local.region))`. */
export function localClientConfig(
  endpoint: string,
  region: string,
): { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } } {
  return { endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
}
