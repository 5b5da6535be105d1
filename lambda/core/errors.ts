/**
 * Every failure the rotation function reports is a RotationError: it names the
 * step, a category an operator can act on, and what to do. Messages are built
 * from our own templates; driver text only enters after redaction.
 */
export type ErrorCategory =
  | 'timeout'
  | 'network'
  | 'tls'
  | 'authentication'
  | 'permission'
  | 'configuration'
  | 'conflict';

export type RotationStep = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

export interface RotationErrorDetails {
  category: ErrorCategory;
  /** What failed, in one sentence, without any secret value. */
  message: string;
  /** What the operator should do about it. */
  action: string;
  step?: RotationStep;
  /** The driver's or service's own error code, e.g. 28P01, ECONNREFUSED, ResourceNotFoundException. */
  code?: string;
  cause?: unknown;
}

export class RotationError extends Error {
  readonly category: ErrorCategory;
  readonly action: string;
  readonly code?: string;
  /** What failed, without step, category or action. */
  readonly detail: string;
  step?: RotationStep;

  constructor(details: RotationErrorDetails) {
    super(details.message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'RotationError';
    this.category = details.category;
    this.action = details.action;
    this.code = details.code;
    this.detail = details.message;
    this.step = details.step;
    this.message = this.compose();
  }

  /** Attach the step once the error reaches the step runner. */
  inStep(step: RotationStep): this {
    if (!this.step) {
      this.step = step;
      this.message = this.compose();
    }
    return this;
  }

  /** A log-safe summary (no cause chain, which may hold driver objects). */
  toLog(): Record<string, unknown> {
    return { category: this.category, step: this.step, code: this.code, message: this.message };
  }

  /** "step: [category] what happened (code X). What to do." */
  private compose(): string {
    const where = this.step ? `${this.step}: ` : '';
    const code = this.code ? ` (code ${this.code})` : '';
    return `${where}[${this.category}] ${this.detail}${code}. ${this.action}`;
  }
}

export function configurationError(message: string, action: string, code?: string): RotationError {
  return new RotationError({ category: 'configuration', message, action, code });
}

export function conflictError(message: string, action: string, code?: string): RotationError {
  return new RotationError({ category: 'conflict', message, action, code });
}

export function isRotationError(e: unknown): e is RotationError {
  return e instanceof RotationError;
}

/**
 * The step ran out of its Lambda time. Categorized like every failure, so
 * the lifecycle event, the log and the alarm say which step and what to do.
 */
export function deadlineError(what: string): RotationError {
  return new RotationError({
    category: 'timeout',
    code: 'DeadlineReached',
    message: `${what} before the Lambda deadline`,
    action: 'Secrets Manager retries the rotation, and each step is safe to run again. If it repeats, find what is slow (the database login, RDS, the Secrets Manager endpoint) or raise the function timeout.',
  });
}
