/** The event Secrets Manager sends a rotation function: https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html */
export interface RotationEvent {
  Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';
  SecretId: string;
  ClientRequestToken: string;
  RotationToken: string;
}

/**
 * What a Node.js Lambda handler receives as `context`
 * (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-context.html).
 * Structurally a superset of `Context` from `@types/aws-lambda`, so a
 * handler typed with that `Context` can be registered in-process.
 */
export interface LambdaLikeContext {
  callbackWaitsForEmptyEventLoop: boolean;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  /** A string, as in Lambda. */
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  getRemainingTimeInMillis(): number;
  /** @deprecated Kept for type compatibility with older handlers; does nothing here. */
  done(error?: Error, result?: unknown): void;
  /** @deprecated */
  fail(error: Error | string): void;
  /** @deprecated */
  succeed(messageOrObject: unknown, object?: unknown): void;
}

/**
 * A rotation function registered under a Lambda ARN: a handler called in
 * this process, or a CommonJS bundle run in a Node child process that stays
 * warm between invocations like a Lambda execution environment.
 */
export type RotationFunction =
  | { kind: 'in-process'; handler: (event: RotationEvent, context: LambdaLikeContext) => Promise<unknown> }
  | {
    kind: 'child-process';
    /** Absolute path of the CommonJS bundle that exports `handler`. */
    bundlePath: string;
    /** The function's environment variables (the Lambda-like variables are added). */
    env?: Record<string, string>;
    /** The function's timeout (default 30 s): past it the process is killed, as Lambda does. */
    timeoutMs?: number;
    /**
     * Absolute path of the Node binary that runs the bundle, e.g. the Lambda runtime's major
     * (scripts/node24.sh). Default: the Node running this process.
     */
    nodePath?: string;
  };

/** A failed invocation, named the way Lambda reports it (`errorType`, `errorMessage`). */
export class InvocationError extends Error {
  constructor(
    readonly errorType: string,
    readonly errorMessage: string,
  ) {
    super(`${errorType}: ${errorMessage}`);
    this.name = 'InvocationError';
  }
}

export function toInvocationError(e: unknown): InvocationError {
  if (e instanceof InvocationError) return e;
  if (e instanceof Error) return new InvocationError(e.name || e.constructor?.name || 'Error', e.message);
  return new InvocationError('Error', String(e));
}
