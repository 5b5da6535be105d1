import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { lambdaFunctionName } from '../secrets-manager/arn';
import { createLambdaContext, logNames, MEMORY_LIMIT_MB } from './lambda-context';
import { emitFunctionOutput } from './output-tap';
import { InvocationError, toInvocationError, type RotationEvent, type RotationFunction } from './types';

export interface InvokerOptions {
  region: string;
  /** The Secrets Manager endpoint the function should call (known once the server listens). */
  endpoint: () => string;
  /** Timeout of one invocation unless the function sets its own. */
  defaultTimeoutMs: number;
  /** Echo child-process output to this process's stderr (it is always kept in a small buffer). */
  echoLogs?: boolean;
}

const RUNTIME_PATH = path.join(__dirname, 'child-runtime.cjs');

/** A child-process function (a bundle in a warm Node child process, optionally another Node binary). */
export type ChildProcessFunction = Extract<RotationFunction, { kind: 'child-process' }>;
const LOG_LINES_KEPT = 500;

/**
 * Invokes rotation functions by Lambda ARN. An ARN nobody registered fails
 * the way Lambda's Invoke does (ResourceNotFoundException), which Secrets
 * Manager reports as a failed rotation.
 */
export class LambdaInvoker {
  private readonly functions = new Map<string, RotationFunction>();
  private readonly children = new Map<string, ChildFunction>();

  constructor(private readonly opts: InvokerOptions) {}

  register(functionArn: string, fn: RotationFunction): void {
    if (fn.kind === 'child-process') {
      if (!path.isAbsolute(fn.bundlePath)) throw new Error(`bundlePath must be absolute: ${fn.bundlePath}`);
      if (fn.nodePath !== undefined && !path.isAbsolute(fn.nodePath)) throw new Error(`nodePath must be absolute: ${fn.nodePath}`);
      this.children.get(functionArn)?.kill();
      this.children.set(functionArn, new ChildFunction(functionArn, fn, this.opts));
    } else {
      this.children.get(functionArn)?.kill();
      this.children.delete(functionArn);
    }
    this.functions.set(functionArn, fn);
  }

  isRegistered(functionArn: string): boolean {
    return this.functions.has(functionArn);
  }

  /** Resolves when the handler succeeded (its result is ignored, as Secrets Manager ignores it); rejects with InvocationError. */
  async invoke(functionArn: string, event: RotationEvent): Promise<void> {
    const fn = this.functions.get(functionArn);
    if (!fn) {
      throw new InvocationError(
        'ResourceNotFoundException',
        `Function not found: ${functionArn}. Register it with LocalSecretsManager.registerRotationFunction().`,
      );
    }
    if (fn.kind === 'child-process') return this.children.get(functionArn)!.invoke(event);
    return this.invokeInProcess(functionArn, fn.handler, event);
  }

  /** Kills the warm child process of a function (the next invocation starts a new one). */
  kill(functionArn: string): boolean {
    return this.children.get(functionArn)?.kill() ?? false;
  }

  /** Recent output lines of a child-process function. */
  logs(functionArn: string): string[] {
    return this.children.get(functionArn)?.logLines.slice() ?? [];
  }

  closeAll(): void {
    for (const c of this.children.values()) c.kill();
  }

  private async invokeInProcess(
    functionArn: string,
    handler: (event: RotationEvent, context: ReturnType<typeof createLambdaContext>) => Promise<unknown>,
    event: RotationEvent,
  ): Promise<void> {
    const timeoutMs = this.opts.defaultTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const context = createLambdaContext(functionArn, randomUUID(), deadline, logNames(functionArn));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timedOut(timeoutMs)), timeoutMs);
    });
    try {
      await Promise.race([Promise.resolve().then(() => handler(event, context)), timeout]);
    } catch (e) {
      throw toInvocationError(e);
    } finally {
      clearTimeout(timer);
    }
  }
}

function timedOut(ms: number): InvocationError {
  return new InvocationError('Sandbox.Timedout', `Task timed out after ${(ms / 1000).toFixed(2)} seconds`);
}

interface Pending {
  id: string;
  resolve: () => void;
  reject: (e: InvocationError) => void;
  timer: NodeJS.Timeout;
}

/**
 * One rotation function in a warm Node child process. Invocations run one at
 * a time; a crash or timeout kills the process and the next invocation
 * starts a fresh one (a cold start).
 */
class ChildFunction {
  readonly logLines: string[] = [];
  private child?: ChildProcess;
  private starting?: Promise<ChildProcess>;
  private pending?: Pending;
  private queue: Promise<void> = Promise.resolve();
  private readonly logs: { logGroupName: string; logStreamName: string };

  constructor(
    private readonly arn: string,
    private readonly fn: ChildProcessFunction,
    private readonly opts: InvokerOptions,
  ) {
    this.logs = logNames(arn);
  }

  invoke(event: RotationEvent): Promise<void> {
    const run = this.queue.then(() => this.run(event));
    this.queue = run.catch(() => undefined);
    return run;
  }

  kill(): boolean {
    const child = this.child;
    if (!child) return false;
    this.child = undefined;
    this.starting = undefined;
    child.kill('SIGKILL');
    return true;
  }

  private async run(event: RotationEvent): Promise<void> {
    const child = await this.start();
    const timeoutMs = this.fn.timeoutMs ?? this.opts.defaultTimeoutMs;
    const id = randomUUID();
    const deadlineMs = Date.now() + timeoutMs;
    setRef(child, true);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending = undefined;
          this.kill();
          reject(timedOut(timeoutMs));
        }, timeoutMs);
        this.pending = { id, resolve, reject, timer };
        const context = {
          functionName: lambdaFunctionName(this.arn),
          functionVersion: '$LATEST',
          invokedFunctionArn: this.arn,
          memoryLimitInMB: MEMORY_LIMIT_MB,
          awsRequestId: id,
          logGroupName: this.logs.logGroupName,
          logStreamName: this.logs.logStreamName,
          deadlineMs,
        };
        child.send({ type: 'invoke', id, event, context }, (err) => {
          if (err) this.settle(id, new InvocationError('Runtime.ExitError', `could not reach the function process: ${err.message}`));
        });
      });
    } finally {
      if (this.child === child) setRef(child, false);
    }
  }

  private settle(id: string, error?: InvocationError): void {
    const p = this.pending;
    if (!p || p.id !== id) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    if (error) p.reject(error);
    else p.resolve();
  }

  private start(): Promise<ChildProcess> {
    if (this.starting) return this.starting;
    if (!existsSync(this.fn.bundlePath)) {
      return Promise.reject(new InvocationError('Runtime.ImportModuleError', `Error: Cannot find module '${this.fn.bundlePath}'`));
    }
    const starting = new Promise<ChildProcess>((resolve, reject) => {
      const child = fork(RUNTIME_PATH, [this.fn.bundlePath], {
        env: this.environment(),
        execArgv: [],
        ...(this.fn.nodePath ? { execPath: this.fn.nodePath } : {}),
        cwd: path.dirname(this.fn.bundlePath),
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        serialization: 'json',
      });
      this.child = child;
      this.capture(child);
      let ready = false;
      child.on('message', (msg: ChildMessage) => {
        if (msg.type === 'ready') {
          ready = true;
          setRef(child, false);
          resolve(child);
        } else if (msg.type === 'init-error') {
          reject(new InvocationError(msg.errorType, msg.errorMessage));
        } else if (msg.type === 'result') {
          this.settle(msg.id, msg.ok ? undefined : new InvocationError(msg.errorType, msg.errorMessage));
        }
      });
      child.on('error', (err) => {
        if (!ready) reject(new InvocationError('Runtime.ExitError', `could not start the function process: ${err.message}`));
      });
      child.on('exit', (code, signal) => {
        if (this.child === child) {
          this.child = undefined;
          this.starting = undefined;
        }
        const how = signal ? `signal: ${signal}` : `exit status ${code}`;
        if (!ready) reject(new InvocationError('Runtime.ExitError', `Runtime exited during init with error: ${how}`));
        if (this.pending) this.settle(this.pending.id, new InvocationError('Runtime.ExitError', `RequestId: ${this.pending.id} Error: Runtime exited with error: ${how}`));
      });
    });
    this.starting = starting;
    starting.catch(() => {
      if (this.starting === starting) this.starting = undefined;
    });
    return starting;
  }

  /**
   * A Lambda-like environment: not this process's environment (a function
   * must not depend on the developer's shell), but the variables Lambda sets
   * plus the function's own.
   */
  private environment(): NodeJS.ProcessEnv {
    const name = lambdaFunctionName(this.arn);
    return {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: 'UTC',
      AWS_REGION: this.opts.region,
      AWS_DEFAULT_REGION: this.opts.region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_SESSION_TOKEN: 'local',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: this.opts.endpoint(),
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: MEMORY_LIMIT_MB,
      AWS_LAMBDA_LOG_GROUP_NAME: this.logs.logGroupName,
      AWS_LAMBDA_LOG_STREAM_NAME: this.logs.logStreamName,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
      LAMBDA_TASK_ROOT: path.dirname(this.fn.bundlePath),
      _HANDLER: `${path.basename(this.fn.bundlePath).replace(/\.c?js$/, '')}.handler`,
      ...(this.fn.env ?? {}),
    };
  }

  private capture(child: ChildProcess): void {
    const name = lambdaFunctionName(this.arn);
    for (const [streamName, stream] of [['stdout', child.stdout], ['stderr', child.stderr]] as const) {
      if (!stream) continue;
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          this.logLines.push(line);
          emitFunctionOutput({ functionArn: this.arn, stream: streamName, line });
          if (this.opts.echoLogs) process.stderr.write(`[${name}] ${line}\n`);
        }
        if (this.logLines.length > LOG_LINES_KEPT) this.logLines.splice(0, this.logLines.length - LOG_LINES_KEPT);
      });
      // A last line without a newline (a crash mid-write) is seen by taps too.
      stream.on('end', () => {
        if (partial) emitFunctionOutput({ functionArn: this.arn, stream: streamName, line: partial });
        partial = '';
      });
    }
  }
}

type ChildMessage =
  | { type: 'ready' }
  | { type: 'init-error'; errorType: string; errorMessage: string }
  | { type: 'result'; id: string; ok: true; errorType?: undefined; errorMessage?: undefined }
  | { type: 'result'; id: string; ok: false; errorType: string; errorMessage: string };

/** A warm but idle child must not keep the parent's event loop alive. */
function setRef(child: ChildProcess, on: boolean): void {
  const handles = [child, (child as unknown as { channel?: { ref(): void; unref(): void } }).channel, child.stdout, child.stderr];
  for (const h of handles) {
    const r = h as { ref?: () => void; unref?: () => void } | null | undefined;
    if (on) r?.ref?.();
    else r?.unref?.();
  }
}
