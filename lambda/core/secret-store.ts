import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { RotationError } from './errors';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';

export interface SecretMetadata {
  arn: string;
  name: string;
  /** undefined when rotation was never configured. */
  rotationEnabled?: boolean;
  /** Labelled versions only, as DescribeSecret reports them. */
  versions: Record<string, string[]>;
  tags: Record<string, string>;
}

export interface StoredVersion {
  versionId: string;
  secretString?: string;
  stages: string[];
}

/**
 * The rotation function's view of one secret in Secrets Manager. SDK errors
 * become RotationErrors with a category; values never enter a message.
 */
export class SecretStore {
  constructor(
    private readonly client: SecretsManagerClient,
    readonly secretId: string,
  ) {}

  withSecretId(secretId: string): SecretStore {
    return new SecretStore(this.client, secretId);
  }

  async describe(): Promise<SecretMetadata> {
    const out = await this.call('DescribeSecret', () => this.client.send(new DescribeSecretCommand({ SecretId: this.secretId })));
    const tags: Record<string, string> = {};
    for (const t of out.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
    return {
      arn: out.ARN ?? this.secretId,
      name: out.Name ?? this.secretId,
      rotationEnabled: out.RotationEnabled,
      versions: out.VersionIdsToStages ?? {},
      tags,
    };
  }

  /**
   * The version with this stage (and id, when given); undefined when that
   * stage has no version or the version has no value yet.
   */
  async get(stage: string, versionId?: string): Promise<StoredVersion | undefined> {
    try {
      const out = await this.client.send(
        new GetSecretValueCommand({ SecretId: this.secretId, VersionStage: stage, VersionId: versionId }),
      );
      return { versionId: out.VersionId!, secretString: out.SecretString, stages: out.VersionStages ?? [] };
    } catch (e) {
      if (errorName(e) === 'ResourceNotFoundException') return undefined;
      throw this.translate('GetSecretValue', e);
    }
  }

  async putPending(token: string, secretString: string, rotationToken?: string): Promise<void> {
    await this.call('PutSecretValue', () =>
      this.client.send(
        new PutSecretValueCommand({
          SecretId: this.secretId,
          ClientRequestToken: token,
          SecretString: secretString,
          VersionStages: [AWSPENDING],
          RotationToken: rotationToken,
        }),
      ),
    );
  }

  /** Moves AWSCURRENT to `to`; Secrets Manager moves AWSPREVIOUS to `from` in the same call. */
  async moveCurrent(to: string, from: string | undefined): Promise<void> {
    await this.call('UpdateSecretVersionStage', () =>
      this.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: this.secretId,
          VersionStage: AWSCURRENT,
          MoveToVersionId: to,
          RemoveFromVersionId: from,
        }),
      ),
    );
  }

  /** Sets one tag on the secret (TagResource appends; an existing key gets the new value). */
  async tag(key: string, value: string): Promise<void> {
    await this.call('TagResource', () => this.client.send(new TagResourceCommand({ SecretId: this.secretId, Tags: [{ Key: key, Value: value }] })));
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.translate(operation, e);
    }
  }

  private translate(operation: string, e: unknown): RotationError {
    const name = errorName(e);
    const what = `Secrets Manager ${operation} on the secret failed`;
    switch (name) {
      case 'AccessDeniedException':
        return new RotationError({
          category: 'permission', code: name, cause: e, message: `${what}: access denied`,
          action: `Grant the rotation function's role secretsmanager:${operation} on this secret (and kms:Decrypt/GenerateDataKey via Secrets Manager for a customer managed key).`,
        });
      case 'ResourceNotFoundException':
        return new RotationError({
          category: 'configuration', code: name, cause: e, message: `${what}: the secret or version does not exist`,
          action: 'Check that the secret was not deleted and that the rotation event names it.',
        });
      case 'ResourceExistsException':
      case 'InvalidRequestException':
        return new RotationError({
          category: 'conflict', code: name, cause: e, message: `${what}: the secret changed during the rotation`,
          action: 'Another writer changed the secret; let Secrets Manager retry, or run `rotor doctor` on the secret.',
        });
      case 'InvalidParameterException':
        return new RotationError({
          category: 'configuration', code: name, cause: e, message: `${what}: Secrets Manager rejected a parameter`,
          action: 'Check the password policy settings of the rotation function.',
        });
      case 'DecryptionFailure':
      case 'EncryptionFailure':
        return new RotationError({
          category: 'permission', code: name, cause: e, message: `${what}: the KMS key could not be used`,
          action: 'Allow the rotation function kms:Decrypt and kms:GenerateDataKey on the secret\'s key through Secrets Manager.',
        });
      default:
        return new RotationError({
          category: 'network', code: name ?? 'Unknown', cause: e, message: `${what}: Secrets Manager could not be reached or failed`,
          action: 'Check that the function can reach Secrets Manager (a secretsmanager interface VPC endpoint or a NAT route), then retry.',
        });
    }
  }
}

export function errorName(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null) {
    const n = (e as { name?: unknown; code?: unknown }).name;
    if (typeof n === 'string' && n !== 'Error') return n;
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'string') return c;
  }
  return undefined;
}
