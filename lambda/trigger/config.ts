import { configurationError } from '../core/errors';
import { InvalidTriggerEventError, type TagFilter } from './events';
import { parseTagFilters } from './events/fields';

/**
 * The trigger function's environment, read and validated once per container.
 * See docs/configuration.md ("Trigger function").
 */
export interface TriggerConfig {
  /** ROTOR_DEPLOYMENT_ID: only secrets tagged `rotor:managed-by` = this value are rotated. */
  deploymentId: string;
  /** ROTOR_TRIGGER_MAX_TPS: RotateSecret calls per second (Secrets Manager's quota is 50 per account and Region). @default 48 (just under the quota, so a 1,000-secret group finishes within 1.15x the 20 s the quota imposes) */
  maxTps: number;
  /** ROTOR_TRIGGER_CONCURRENCY: secrets handled at once. @default 8 */
  concurrency: number;
  /** ROTOR_TRIGGER_MAX_ATTEMPTS: attempts of one throttled or failed call before the secret is reported failed. @default 8 */
  maxAttempts: number;
  /** ROTOR_TRIGGER_IAM_FINDING_TAGS: JSON tag filters of the secrets to rotate on a GuardDuty IAM credential finding. */
  iamFindingTags?: TagFilter[];
  /** ROTOR_TRIGGER_HEALTH_TAGS: JSON tag filters of the secrets to rotate on AWS_RISK_CREDENTIALS_EXPOSED naming no secret. */
  healthTags?: TagFilter[];
  /**
   * ROTOR_TRIGGER_COOLDOWN_MINUTES: an alert (GuardDuty, Security Hub, Health)
   * or a Rotation Requested event does not rotate a secret whose
   * LastRotatedDate (as Secrets Manager reports it) is less than this many
   * minutes ago; it is skipped "cool-down". Scheduled rotations ignore it.
   * Integer 0-10080 (one week); 0 turns the cool-down off.
   * @default 60
   */
  cooldownMinutes: number;
  /**
   * ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT: the most secrets one alert or
   * Rotation Requested event rotates; the rest (by ARN order, so a
   * redelivery picks the same ones) are skipped "cap". Scheduled rotations
   * are not capped. Integer 1-10000.
   * @default 50
   */
  maxSecretsPerEvent: number;
  /**
   * ROTOR_REQUEST_BUS_NAME: the event bus that carries Rotation Requested
   * events (the CDK app creates it with a resource policy naming the allowed
   * senders). Informational: an event does not say which bus it came
   * through, so it is only logged with each Rotation Requested event.
   * @default none
   */
  requestBusName?: string;
  /**
   * AWS_REGION (set by Lambda): the Region whose findings act. When unset,
   * the Region of the function's own ARN (the invocation context) is used.
   */
  region?: string;
}

/** The tag that marks a secret as rotated by one rotor deployment. */
export const MANAGED_BY_TAG = 'rotor:managed-by';

export function readTriggerConfig(env: Record<string, string | undefined>): TriggerConfig {
  const deploymentId = env.ROTOR_DEPLOYMENT_ID?.trim();
  if (!deploymentId || deploymentId.length > 256) {
    throw configurationError(
      'ROTOR_DEPLOYMENT_ID is not set (or longer than 256 characters)',
      `Set ROTOR_DEPLOYMENT_ID on the trigger function to the value of the ${MANAGED_BY_TAG} tag of the secrets it manages (the CDK app does this)`,
    );
  }
  return {
    deploymentId,
    maxTps: number(env, 'ROTOR_TRIGGER_MAX_TPS', 48, 0.1, 1000),
    concurrency: number(env, 'ROTOR_TRIGGER_CONCURRENCY', 8, 1, 64, true),
    maxAttempts: number(env, 'ROTOR_TRIGGER_MAX_ATTEMPTS', 8, 1, 20, true),
    iamFindingTags: tags(env, 'ROTOR_TRIGGER_IAM_FINDING_TAGS'),
    healthTags: tags(env, 'ROTOR_TRIGGER_HEALTH_TAGS'),
    cooldownMinutes: number(env, 'ROTOR_TRIGGER_COOLDOWN_MINUTES', 60, 0, 10080, true),
    maxSecretsPerEvent: number(env, 'ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT', 50, 1, 10000, true),
    requestBusName: busName(env, 'ROTOR_REQUEST_BUS_NAME'),
    region: regionName(env, 'AWS_REGION'),
  };
}

/** An event bus name or ARN (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateEventBus.html). */
function busName(env: Record<string, string | undefined>, name: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (!/^(arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/)?[\w.\-/]{1,256}$/.test(raw)) {
    throw configurationError(`${name} is not an event bus name or ARN`, `Set ${name} to the name of the rotation request bus (the CDK app does this)`);
  }
  return raw;
}

function regionName(env: Record<string, string | undefined>, name: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(raw)) throw configurationError(`${name} is not a Region name`, `Unset ${name} or set it to the function's Region (Lambda sets it)`);
  return raw;
}

function number(env: Record<string, string | undefined>, name: string, dflt: number, min: number, max: number, integer = false): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw configurationError(`${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}`, `Fix ${name} on the trigger function`);
  }
  return n;
}

function tags(env: Record<string, string | undefined>, name: string): TagFilter[] | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const fix = `Set ${name} to JSON like [{"key":"env","values":["prod"]}]`;
  try {
    return parseTagFilters(JSON.parse(raw), name);
  } catch (e) {
    throw configurationError(`${name} is not a valid list of tag filters${e instanceof InvalidTriggerEventError ? ` (${e.message.split('. ')[0]})` : ''}`, fix);
  }
}
