import { Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TriggerDeadLetterQueue } from './dead-letter-queue';
import type { TagFilter, TriggerFunction } from './trigger-function';

/** Event source the trigger function recognises for scheduled group rotations. */
export const SCHEDULE_SOURCE = 'rotor.schedule';

export interface GroupRotationScheduleProps {
  /** The trigger function to invoke. */
  readonly triggerFunction: TriggerFunction;
  /** Secrets to rotate: all managed secrets matching every filter (values of one filter OR-ed). */
  readonly tagFilters: TagFilter[];
  /** EventBridge Scheduler cron expression, six fields: `cron(0 3 ? * SUN *)`. */
  readonly cron: string;
  /** IANA time zone the cron expression is read in. @default 'UTC' */
  readonly timeZone?: string;
  /** Flexible time window: the rotation starts at a random moment within it, spreading load. 0 = off. @default Duration.minutes(30) */
  readonly flexibleWindow?: Duration;
  /** Why the group rotates, carried in the payload and the trigger's report. @default 'scheduled rotation <id>' */
  readonly reason?: string;
  /** Scheduler retry attempts when the invocation fails. @default 3 */
  readonly retryAttempts?: number;
  /** How long Scheduler keeps retrying an undelivered invocation. @default Duration.hours(1) */
  readonly maxEventAge?: Duration;
  /** Queue for invocations that failed every attempt. @default - a new encrypted queue */
  readonly deadLetterQueue?: sqs.IQueue;
  /** Whether the schedule is enabled. @default true */
  readonly enabled?: boolean;
}

/**
 * Rotates a group of secrets (selected by tags) on a cron schedule in a time
 * zone, through EventBridge Scheduler and the trigger function.
 */
export class GroupRotationSchedule extends Construct {
  readonly schedule: scheduler.Schedule;
  readonly deadLetterQueue: sqs.IQueue;

  constructor(scope: Construct, id: string, props: GroupRotationScheduleProps) {
    super(scope, id);
    const fail = (msg: string): never => {
      throw new Error(`${this.node.path}: ${msg}`);
    };
    const cron = /^cron\((.*)\)$/.exec(props.cron.trim());
    if (!cron || cron[1].trim().split(/\s+/).length !== 6) {
      fail(`cron "${props.cron}" must be cron(minutes hours day-of-month month day-of-week year), six fields.`);
    }
    if (props.tagFilters.length === 0) fail('tagFilters is empty; a group schedule must select secrets by at least one tag.');
    for (const [i, f] of props.tagFilters.entries()) {
      if (!f.key || f.values.length === 0) fail(`tagFilters[${i}] needs a key and at least one value.`);
    }
    const window = props.flexibleWindow ?? Duration.minutes(30);
    const windowMinutes = window.toMinutes({ integral: false });
    if (windowMinutes !== 0 && (windowMinutes < 1 || windowMinutes > 1440)) fail(`flexibleWindow is ${windowMinutes} minutes; it must be 0 (off) or 1-1440 minutes.`);
    const retries = props.retryAttempts ?? 3;
    if (!Number.isInteger(retries) || retries < 0 || retries > 185) fail(`retryAttempts is ${retries}; it must be 0-185.`);
    const timeZone = props.timeZone ?? 'UTC';
    if (!isTimeZone(timeZone)) fail(`timeZone "${timeZone}" is not an IANA time zone name (e.g. Europe/Berlin).`);

    this.deadLetterQueue = props.deadLetterQueue ?? new TriggerDeadLetterQueue(this, 'DeadLetterQueue').queue;
    // A role of its own, assumable by Scheduler for this account only (the
    // default shared role has no aws:SourceAccount condition).
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: `rotor group schedule ${id}`,
    });
    const fnLogicalId = stack.getLogicalId(props.triggerFunction.function.node.defaultChild as lambda.CfnFunction);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${fnLogicalId}.Arn>:*]`,
      reason: 'lambda:InvokeFunction on the trigger function and its versions/aliases (ARN:*), as Function.grantInvoke writes it; no other function is reachable.',
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `rotor: rotate secrets tagged ${props.tagFilters.map((f) => `${f.key}=${f.values.join('|')}`).join(', ')}`,
      schedule: scheduler.ScheduleExpression.expression(props.cron.trim(), TimeZone.of(timeZone)),
      timeWindow: windowMinutes === 0 ? scheduler.TimeWindow.off() : scheduler.TimeWindow.flexible(window),
      enabled: props.enabled ?? true,
      target: new targets.LambdaInvoke(props.triggerFunction.function, {
        input: scheduler.ScheduleTargetInput.fromObject({
          source: SCHEDULE_SOURCE,
          // Filled in by Scheduler; the trigger derives its idempotency key from them
          // (a retried invocation keeps its scheduled time).
          scheduleArn: scheduler.ContextAttribute.scheduleArn,
          scheduledTime: scheduler.ContextAttribute.scheduledTime,
          tagFilters: props.tagFilters,
          reason: props.reason ?? `scheduled rotation ${id}`,
        }),
        role,
        retryAttempts: retries,
        maxEventAge: props.maxEventAge ?? Duration.hours(1),
        deadLetterQueue: this.deadLetterQueue,
      }),
    });
  }
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
