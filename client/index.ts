/**
 * rotor/client: rotation-aware database credentials for applications.
 * See docs/applications.md.
 *
 * The drivers (pg, mysql2) are loaded only by the helpers that use them.
 */
export { SecretCache, SecretCacheError, AWSCURRENT, AWSPENDING } from './secret-cache';
export type { SecretCacheOptions, SecretCacheStats, CachedVersion } from './secret-cache';
export { parseDatabaseCredential, CredentialFormatError } from './database-credential';
export type { DatabaseCredential } from './database-credential';
export { connectWithRotation, latePassword, applicationNameOf, CLIENT_TAG } from './rotating-credential';
export type { RotationAwareOptions, Attempt } from './rotating-credential';
export { pgPoolConfig, createPgPool, createPgClient, rotationAwarePgClientClass, isPgAuthFailure, PG_INVALID_PASSWORD } from './pg';
export { createMysqlPool, createMysqlConnection, isMysqlAuthFailure, MYSQL_ACCESS_DENIED } from './mysql';
