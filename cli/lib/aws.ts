import type { CloudTrailClient, CloudTrailClientConfig } from '@aws-sdk/client-cloudtrail';
import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';

/** The AWS options every operator command takes. */
export interface AwsOptions {
  region?: string;
  profile?: string;
  endpointUrl?: string;
}

const LOOPBACK = /^https?:\/\/(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?(\/|$)/i;

/** The Secrets Manager endpoint in use: --endpoint-url, else the SDK's variables (undefined: AWS's). */
export function secretsManagerEndpoint(opts: AwsOptions, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return opts.endpointUrl ?? env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? env.AWS_ENDPOINT_URL;
}

/**
 * Region and credentials shared by every client: the SDK's default chain
 * (environment, shared config, SSO, instance/container roles), overridden by
 * --region / --profile. For a local endpoint (loopback address) with no
 * credentials or Region configured, dummy credentials and us-east-1 are used,
 * as the local stack accepts any.
 */
function baseConfig(opts: AwsOptions, endpoint: string | undefined, env: NodeJS.ProcessEnv) {
  const config: { maxAttempts: number; region?: string; profile?: string; credentials?: { accessKeyId: string; secretAccessKey: string } } = { maxAttempts: 3 };
  if (opts.region) config.region = opts.region;
  // The JavaScript SDK reads AWS_REGION only; the AWS CLI (v1 only reads this one) and the other
  // SDKs read AWS_DEFAULT_REGION too, so an operator who set only that one gets it here as well.
  else if (!env.AWS_REGION && env.AWS_DEFAULT_REGION) config.region = env.AWS_DEFAULT_REGION;
  if (opts.profile) config.profile = opts.profile;
  if (endpoint && LOOPBACK.test(endpoint)) {
    if (!config.region && !env.AWS_REGION && !opts.profile && !env.AWS_PROFILE) config.region = 'us-east-1';
    if (!env.AWS_ACCESS_KEY_ID && !opts.profile && !env.AWS_PROFILE) {
      config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    }
  }
  return config;
}

/**
 * A Secrets Manager client. The endpoint is --endpoint-url, else the SDK's own
 * AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL.
 */
export function secretsManagerClient(opts: AwsOptions, env: NodeJS.ProcessEnv = process.env): SecretsManagerClient {
  const endpoint = secretsManagerEndpoint(opts, env);
  const config: SecretsManagerClientConfig = baseConfig(opts, endpoint, env);
  if (opts.endpointUrl) config.endpoint = opts.endpointUrl;
  return new SecretsManagerClient(config);
}

/**
 * An RDS client (rotor doctor's rds-master checks). The endpoint is the SDK's
 * AWS_ENDPOINT_URL_RDS / AWS_ENDPOINT_URL (`rotor local --rds-port`), with the
 * same loopback defaults as the other clients.
 */
export function rdsClient(opts: AwsOptions, env: NodeJS.ProcessEnv = process.env): import('@aws-sdk/client-rds').RDSClient {
  const { RDSClient: Client } = require('@aws-sdk/client-rds') as typeof import('@aws-sdk/client-rds');
  return new Client(baseConfig(opts, env.AWS_ENDPOINT_URL_RDS ?? env.AWS_ENDPOINT_URL, env));
}

/**
 * A CloudTrail client (LookupEvents: rotation history and failures). The
 * endpoint is the SDK's AWS_ENDPOINT_URL_CLOUDTRAIL / AWS_ENDPOINT_URL; when
 * neither is set and Secrets Manager is a local (loopback) endpoint, that same
 * endpoint, which serves LookupEvents too (`rotor local`): so a local run never
 * asks AWS's CloudTrail about local secrets.
 */
export function cloudTrailClient(opts: AwsOptions, env: NodeJS.ProcessEnv = process.env): CloudTrailClient {
  const { CloudTrailClient: Client } = require('@aws-sdk/client-cloudtrail') as typeof import('@aws-sdk/client-cloudtrail');
  const smEndpoint = secretsManagerEndpoint(opts, env);
  const own = env.AWS_ENDPOINT_URL_CLOUDTRAIL ?? env.AWS_ENDPOINT_URL;
  const endpoint = own ?? (smEndpoint && LOOPBACK.test(smEndpoint) ? smEndpoint : undefined);
  const config: CloudTrailClientConfig = { ...baseConfig(opts, endpoint, env), maxAttempts: 6 };
  if (!own && endpoint) config.endpoint = endpoint;
  return new Client(config);
}

/**
 * What to set, for the errors a first run meets: no credentials, no Region,
 * a Region that does not exist (the endpoint's host does not resolve) or a
 * request signed for another Region than the endpoint's. Undefined for others.
 */
export function explainAwsError(e: unknown, opts: AwsOptions = {}, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const name = (e as { name?: string })?.name ?? '';
  const msg = e instanceof Error ? e.message : String(e);
  const region = opts.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const profile = opts.profile ?? env.AWS_PROFILE;
  if (name === 'CredentialsProviderError' || /Could not load credentials|credential(s)? (is|are) missing|Token is expired|SSO session/i.test(msg)) {
    return `no usable AWS credentials${profile ? ` for profile ${profile}` : ''} (${msg.split('\n')[0]}). `
      + 'Set AWS_PROFILE or pass --profile NAME (after `aws sso login --profile NAME` for SSO), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; '
      + 'for the local stack, set AWS_ENDPOINT_URL_SECRETS_MANAGER or pass --endpoint-url http://127.0.0.1:4566.';
  }
  if (/Region is missing/i.test(msg)) {
    return 'no AWS Region configured. Set AWS_REGION (e.g. export AWS_REGION=eu-west-1) or pass --region REGION, or set region in the profile (AWS_PROFILE / --profile).';
  }
  if (/ENOTFOUND|getaddrinfo/i.test(msg) && /amazonaws\.com/i.test(msg)) {
    return `could not resolve the AWS endpoint for Region ${JSON.stringify(region ?? '(none)')} (${msg}): is the Region right (and the network or proxy up)? Set AWS_REGION or pass --region with a Region name such as eu-west-1.`;
  }
  if (/scoped to a valid region|signature.*region|region.*signature/i.test(msg) || name === 'InvalidSignatureException' && /region/i.test(msg)) {
    return `the request was signed for Region ${JSON.stringify(region ?? '(default)')}, which the endpoint does not serve (${msg}). Set AWS_REGION or pass --region with the endpoint's Region.`;
  }
  if (name === 'UnrecognizedClientException' || /security token included in the request is invalid/i.test(msg)) {
    return `AWS does not recognise these credentials (${msg}). Check AWS_PROFILE / --profile, or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.`;
  }
  return undefined;
}

/**
 * Resolves the client's Region and credentials now (no request is sent), so a
 * command that reports per-secret failures (rotate) stops at once with the
 * hint of explainAwsError instead of failing every secret the same way.
 */
export async function ensureAwsConfig(client: { config: { region: () => Promise<string>; credentials: () => Promise<unknown> } }): Promise<void> {
  await client.config.region();
  await client.config.credentials();
}
