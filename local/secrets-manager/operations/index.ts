import type { StructureShape } from '../input-shape';
import { shapes, type OperationName } from '../operation-shapes';
import type { OperationHandler } from './context';
import { listSecrets } from './listing';
import { getRandomPassword } from './password';
import { cancelRotateSecret, rotateSecret } from './rotation';
import { createSecret, deleteSecret, describeSecret, restoreSecret, tagResource, untagResource, updateSecret } from './secrets';
import { batchGetSecretValue, getSecretValue, listSecretVersionIds, putSecretValue, updateSecretVersionStage } from './versions';

export interface Operation {
  shape: StructureShape;
  handler: OperationHandler;
}

const handlers: Record<OperationName, OperationHandler> = {
  CreateSecret: createSecret,
  DescribeSecret: describeSecret,
  GetSecretValue: getSecretValue,
  BatchGetSecretValue: batchGetSecretValue,
  PutSecretValue: putSecretValue,
  UpdateSecret: updateSecret,
  UpdateSecretVersionStage: updateSecretVersionStage,
  ListSecrets: listSecrets,
  ListSecretVersionIds: listSecretVersionIds,
  GetRandomPassword: getRandomPassword,
  RotateSecret: rotateSecret,
  CancelRotateSecret: cancelRotateSecret,
  TagResource: tagResource,
  UntagResource: untagResource,
  DeleteSecret: deleteSecret,
  RestoreSecret: restoreSecret,
};

/** The operations the local endpoint serves, by X-Amz-Target name. */
export const operations: ReadonlyMap<string, Operation> = new Map(
  (Object.keys(handlers) as OperationName[]).map((name) => [name, { shape: shapes[name], handler: handlers[name] }]),
);
