import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';

/** The AWS options every operator command takes. */
export interface AwsOptions {
  region?: string;
  profile?: string;
  endpointUrl?: string;
}

const LOOPBACK = /^https?:\/\/(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?(\/|$)/i;

/**
 * A Secrets Manager client: the SDK's default credential chain and Region
 * (environment, shared config, SSO, instance/container roles), overridden by
 * --region / --profile. The endpoint is --endpoint-url, else the SDK's own
 * AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL. For a local endpoint
 * (loopback address) with no credentials or Region configured, dummy
 * credentials and us-east-1 are used, as the local stack accepts any.
 */
export function secretsManagerClient(opts: AwsOptions, env: NodeJS.ProcessEnv = process.env): SecretsManagerClient {
  const endpoint = opts.endpointUrl ?? env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? env.AWS_ENDPOINT_URL;
  const config: SecretsManagerClientConfig = { maxAttempts: 3 };
  if (opts.endpointUrl) config.endpoint = opts.endpointUrl;
  if (opts.region) config.region = opts.region;
  if (opts.profile) config.profile = opts.profile;
  if (endpoint && LOOPBACK.test(endpoint)) {
    if (!opts.region && !env.AWS_REGION && !env.AWS_DEFAULT_REGION && !opts.profile && !env.AWS_PROFILE) config.region = 'us-east-1';
    if (!env.AWS_ACCESS_KEY_ID && !opts.profile && !env.AWS_PROFILE) {
      config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    }
  }
  return new SecretsManagerClient(config);
}
