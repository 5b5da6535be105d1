import { Duration, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * Encrypted, TLS-only SQS queue that keeps the events EventBridge rules and
 * Scheduler could not deliver to the trigger function (14 days).
 *
 * SQS-managed SSE rather than a KMS key: EventBridge and Scheduler can write
 * to it without key-policy grants, and the messages hold event metadata
 * (finding ids, tag filters), never a secret value.
 */
export class TriggerDeadLetterQueue extends Construct {
  readonly queue: sqs.Queue;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the EventBridge rule and Scheduler targets; a DLQ of a DLQ adds nothing. Its depth is alarmed on.',
    });
  }
}
