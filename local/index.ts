/**
 * The local stack's Secrets Manager endpoint. See docs/local-endpoint.md.
 */
export { LocalSecretsManager, localClientConfig } from './local-secrets-manager';
export type { LocalSecretsManagerOptions, LocalFaults, RotationLifecycleEvent, FaultSpec } from './local-secrets-manager';
export type { RotationFunction, RotationEvent, LambdaLikeContext } from './lambda/types';
export type { SeedSecretInput } from './secrets-manager/operations/secrets';
export { serveLocal, type ServeLocalOptions } from './serve';
