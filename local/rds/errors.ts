import { isServiceError } from '../secrets-manager/errors';

/**
 * An error answered by the local RDS endpoint, in the AWS Query protocol's
 * shape: `<ErrorResponse><Error><Type>Sender|Receiver</Type><Code>..</Code>
 * <Message>..</Message></Error><RequestId>..</RequestId></ErrorResponse>`.
 *
 * `code` is the Query error code (the `awsQueryError` code of the Smithy
 * model, which is what `@aws-sdk/client-rds` maps to its exception classes:
 * e.g. code `DBInstanceNotFound` becomes `DBInstanceNotFoundFault`), and
 * `statusCode` the HTTP status the API reference gives for it.
 *
 * Operation errors: the "Errors" section of each page, e.g.
 *   https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBInstances.html
 *   https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html
 *   https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBClusters.html
 *   https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBCluster.html
 * Common errors (MissingAction, MissingParameter, InvalidParameterValue,
 * InvalidParameterCombination, MissingAuthenticationToken 403, ...):
 *   https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/CommonErrors.html
 */
export class RdsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = code;
  }

  /** `Sender` for client errors, `Receiver` for server faults. */
  get type(): 'Sender' | 'Receiver' {
    return this.statusCode >= 500 ? 'Receiver' : 'Sender';
  }
}

/** API_DescribeDBInstances / API_ModifyDBInstance: DBInstanceNotFound, HTTP 404. Message as AWS words it. */
export const dbInstanceNotFound = (id: string) => new RdsError('DBInstanceNotFound', `DBInstance ${id} not found.`, 404);

/** API_DescribeDBClusters / API_ModifyDBCluster: DBClusterNotFoundFault, HTTP 404. */
export const dbClusterNotFound = (id: string) => new RdsError('DBClusterNotFoundFault', `DBCluster ${id} not found.`, 404);

/**
 * API_ModifyDBInstance: InvalidDBInstanceState, HTTP 400 ("The DB instance
 * isn't in a valid state."). The message is the one RDS answers.
 */
export const invalidDBInstanceState = () => new RdsError('InvalidDBInstanceState', 'Database instance is not in available state.');

/** API_ModifyDBCluster: InvalidDBClusterStateFault, HTTP 400. The message is the one RDS answers. */
export const invalidDBClusterState = (status: string) =>
  new RdsError('InvalidDBClusterStateFault', `DB cluster is not available for modification with status ${status}`);

export const invalidParameterValue = (message: string) => new RdsError('InvalidParameterValue', message);
export const invalidParameterCombination = (message: string) => new RdsError('InvalidParameterCombination', message);
export const missingParameter = (name: string) => new RdsError('MissingParameter', `The request must contain the parameter ${name}`);
export const missingAction = () => new RdsError('MissingAction', 'The request must contain the parameter Action.');
export const invalidAction = (action: string, version: string) =>
  new RdsError('InvalidAction', `Could not find operation ${action.slice(0, 100)} for version ${version.slice(0, 40)}`);
export const internalFailure = () => new RdsError('InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.', 500);

/**
 * Query-protocol services answer a throttled request with code `Throttling`,
 * HTTP 400, "Rate exceeded" (e.g. https://github.com/aws/aws-cli/issues/8604
 * for DescribeDBInstances). The RDS user guide's example
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-api-throttling.html)
 * and CommonErrors spell it `ThrottlingException`; the SDKs retry both.
 */
export const throttling = (message = 'Rate exceeded') => new RdsError('Throttling', message);

/** HTTP statuses of codes that fault injection may name (anything else is 400). */
const KNOWN_STATUS: Record<string, number> = {
  DBInstanceNotFound: 404,
  DBClusterNotFoundFault: 404,
  InternalFailure: 500,
  ServiceUnavailable: 503,
  MissingAuthenticationToken: 403,
  InvalidClientTokenId: 403,
  SignatureDoesNotMatch: 403,
  OptInRequired: 403,
  MalformedQueryString: 404,
};

/**
 * Converts errors thrown by the shared helpers (the Secrets Manager
 * endpoint's FaultInjector and SigV4 format check, which speak the JSON
 * protocol's names) into Query-protocol RDS errors.
 */
export function toRdsError(e: unknown): RdsError | undefined {
  if (e instanceof RdsError) return e;
  if (!isServiceError(e)) return undefined;
  switch (e.errorName) {
    case 'ThrottlingException':
    case 'Throttling':
      return throttling(e.message);
    case 'MissingAuthenticationTokenException':
      return new RdsError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
    case 'IncompleteSignatureException':
      return new RdsError('IncompleteSignature', e.message, 400);
    case 'InvalidSignatureException':
      // An expired date stamp is RequestExpired (CommonErrors, HTTP 400); a
      // wrong credential scope is SignatureDoesNotMatch (HTTP 403).
      return e.message.startsWith('Signature expired')
        ? new RdsError('RequestExpired', e.message, 400)
        : new RdsError('SignatureDoesNotMatch', e.message, 403);
    case 'InternalServiceError':
      return new RdsError('InternalFailure', e.message, 500);
    default: {
      const code = e.errorName.replace(/Exception$/, '') === 'ServiceUnavailable' ? 'ServiceUnavailable' : e.errorName;
      return new RdsError(code, e.message, KNOWN_STATUS[code] ?? (e.statusCode >= 400 ? e.statusCode : 400));
    }
  }
}
