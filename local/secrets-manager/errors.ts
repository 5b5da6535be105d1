/**
 * Errors the local endpoint answers with. Each class carries the AWS error
 * name (the JSON protocol's `__type`, which the SDK maps to its error
 * classes) and the HTTP status AWS uses for it.
 *
 * Service errors: https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html
 * and the per-operation "Errors" sections of the API reference.
 */
export class ServiceError extends Error {
  constructor(
    /** The AWS error name, e.g. `ResourceNotFoundException`. */
    readonly errorName: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = errorName;
  }
}

export class ResourceNotFoundException extends ServiceError {
  constructor(message = "Secrets Manager can't find the specified secret.") {
    super('ResourceNotFoundException', message);
  }
}

export class InvalidParameterException extends ServiceError {
  constructor(message: string) {
    super('InvalidParameterException', message);
  }
}

export class InvalidRequestException extends ServiceError {
  constructor(message: string) {
    super('InvalidRequestException', message);
  }
}

export class ResourceExistsException extends ServiceError {
  constructor(message: string) {
    super('ResourceExistsException', message);
  }
}

export class LimitExceededException extends ServiceError {
  constructor(message: string) {
    super('LimitExceededException', message);
  }
}

export class InvalidNextTokenException extends ServiceError {
  constructor(message = 'The NextToken value is invalid.') {
    super('InvalidNextTokenException', message);
  }
}

/** Model constraint violations (length, range, pattern, required): AWS answers `ValidationException`. */
export class ValidationException extends ServiceError {
  constructor(message: string) {
    super('ValidationException', message);
  }
}

/** The body is not JSON, or a member has the wrong JSON type. */
export class SerializationException extends ServiceError {
  constructor(message: string) {
    super('SerializationException', message);
  }
}

export class UnknownOperationException extends ServiceError {
  constructor(message = 'The requested operation is not recognized by the service.') {
    super('UnknownOperationException', message);
  }
}

/*
 * Authentication errors. The generic CommonErrors table lists
 * MissingAuthenticationToken with HTTP 403, but AWS JSON-protocol (Coral)
 * services answer an unsigned request with HTTP 400 and
 * `com.amazon.coral.service#MissingAuthenticationTokenException`
 * ("Request is missing Authentication Token"); the SDK strips the namespace.
 * We follow the observed JSON-protocol behaviour.
 */
export class MissingAuthenticationTokenException extends ServiceError {
  constructor(message = 'Request is missing Authentication Token') {
    super('MissingAuthenticationTokenException', message);
  }
}

/** https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html#CommonErrors-IncompleteSignature (HTTP 400) */
export class IncompleteSignatureException extends ServiceError {
  constructor(message: string) {
    super('IncompleteSignatureException', message);
  }
}

/** A well-formed signature whose scope (service, region, date) is wrong, or which has expired. */
export class InvalidSignatureException extends ServiceError {
  constructor(message: string) {
    super('InvalidSignatureException', message);
  }
}

/** Fault injection and rate limiting. The SDK retries it (THROTTLING_ERROR_CODES). */
export class ThrottlingException extends ServiceError {
  constructor(message = 'Rate exceeded') {
    super('ThrottlingException', message);
  }
}

/**
 * A server fault. The Smithy model marks it `fault: server` with no explicit
 * code, so it is HTTP 500 (the SDK then treats it as transient).
 */
export class InternalServiceError extends ServiceError {
  constructor(message = 'An error occurred on the server side.') {
    super('InternalServiceError', message, 500);
  }
}

export class RequestEntityTooLargeException extends ServiceError {
  constructor(message: string) {
    super('RequestEntityTooLargeException', message, 413);
  }
}

/** Builds an arbitrary AWS-named error, for fault injection. */
export function namedServiceError(name: string, message?: string): ServiceError {
  switch (name) {
    case 'InternalServiceError':
      return new InternalServiceError(message);
    case 'ThrottlingException':
      return new ThrottlingException(message);
    case 'ServiceUnavailable':
    case 'ServiceUnavailableException':
      return new ServiceError(name, message ?? 'Service is unavailable.', 503);
    case 'InternalFailure':
      return new ServiceError(name, message ?? 'The request processing has failed because of an unknown error.', 500);
    default:
      return new ServiceError(name, message ?? `Injected ${name}.`);
  }
}

export function isServiceError(e: unknown): e is ServiceError {
  return e instanceof ServiceError;
}
