import { configurationError } from '../core/errors';
import type { RotationStep } from '../core/errors';

export const STEPS: readonly RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

/** The event Secrets Manager sends: https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html */
export interface RotationEvent {
  step: RotationStep;
  secretId: string;
  token: string;
  /** Newer events carry it; it is passed on to PutSecretValue. */
  rotationToken?: string;
}

const FIX = 'This function must be invoked by Secrets Manager with {Step, SecretId, ClientRequestToken}; check what invoked it.';

export function parseRotationEvent(raw: unknown): RotationEvent {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw configurationError('the event is not a JSON object', FIX);
  }
  const e = raw as Record<string, unknown>;
  const step = e.Step;
  if (typeof step !== 'string' || !(STEPS as readonly string[]).includes(step)) {
    throw configurationError(
      typeof step === 'string' ? `unknown Step "${step.slice(0, 40)}"; expected one of ${STEPS.join(', ')}` : 'the event has no Step',
      FIX,
    );
  }
  // From here on the Step is known: every error names it.
  const invalid = (detail: string) => configurationError(detail, FIX).inStep(step as RotationStep);
  const secretId = e.SecretId;
  if (typeof secretId !== 'string' || secretId.length === 0 || secretId.length > 2048) {
    throw invalid('the event has no valid SecretId (a string of 1-2048 characters)');
  }
  const token = e.ClientRequestToken;
  if (typeof token !== 'string' || token.length < 32 || token.length > 64 || !/^[\x21-\x7e]+$/.test(token)) {
    throw invalid('the event has no valid ClientRequestToken (32-64 printable characters)');
  }
  const rotationToken = e.RotationToken;
  if (rotationToken !== undefined && (typeof rotationToken !== 'string' || rotationToken.length === 0 || rotationToken.length > 4096)) {
    throw invalid('RotationToken in the event is not a string of 1-4096 characters');
  }
  return { step: step as RotationStep, secretId, token, rotationToken: rotationToken as string | undefined };
}
