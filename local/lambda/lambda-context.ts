import { randomBytes } from 'node:crypto';
import { lambdaFunctionName } from '../secrets-manager/arn';
import type { LambdaLikeContext } from './types';

export const MEMORY_LIMIT_MB = '128';

/** Log group and stream names in Lambda's format: /aws/lambda/<name>, YYYY/MM/DD/[$LATEST]<hex>. */
export function logNames(functionArn: string, now = new Date()): { logGroupName: string; logStreamName: string } {
  const name = lambdaFunctionName(functionArn);
  const day = now.toISOString().slice(0, 10).replace(/-/g, '/');
  return { logGroupName: `/aws/lambda/${name}`, logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}` };
}

export function createLambdaContext(
  functionArn: string,
  awsRequestId: string,
  deadlineMs: number,
  logs: { logGroupName: string; logStreamName: string },
): LambdaLikeContext {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: lambdaFunctionName(functionArn),
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: MEMORY_LIMIT_MB,
    awsRequestId,
    logGroupName: logs.logGroupName,
    logStreamName: logs.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
