/**
 * The local stack's Secrets Manager endpoint. See docs/local-endpoint.md.
 */
export { LocalSecretsManager, localClientConfig } from './local-secrets-manager';
export type {
  LocalSecretsManagerOptions,
  LocalFaults,
  RotationLifecycleEvent,
  FaultSpec,
  CallInterceptor,
  InterceptedCall,
  InvocationObserver,
  ObservedInvocation,
} from './local-secrets-manager';
export { namedServiceError } from './secrets-manager/errors';
export type { RotationFunction, RotationEvent, LambdaLikeContext } from './lambda/types';
export type { SeedSecretInput } from './secrets-manager/operations/secrets';
export { serveLocal, DEFAULT_FUNCTION_NAME, type ServeLocalOptions, type ServedRotationFunction } from './serve';
