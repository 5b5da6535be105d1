import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { LocalSecretsManager, localClientConfig } from '../local';
import { median, percentile, round, timed } from './stats';

const WARMUP = 200;
const CALLS = 2000;

/**
 * Latency of the local endpoint: sequential GetSecretValue calls with the
 * real SDK client (signing, HTTP keep-alive, JSON parsing included), after a
 * warm-up.
 */
export async function run(): Promise<Record<string, number>> {
  const local = await LocalSecretsManager.start({ port: 0 });
  const sm = new SecretsManagerClient(localClientConfig(local.endpoint, local.region));
  try {
    const created = await sm.send(new CreateSecretCommand({ Name: 'bench/endpoint', SecretString: JSON.stringify({ username: 'bench', password: 'x'.repeat(32) }) }));
    const get = new GetSecretValueCommand({ SecretId: created.ARN });
    for (let i = 0; i < WARMUP; i++) await sm.send(get);
    const samples: number[] = [];
    for (let i = 0; i < CALLS; i++) samples.push(await timed(() => sm.send(get)));
    return {
      getSecretValueMedianMs: round(median(samples), 3),
      getSecretValueP95Ms: round(percentile(samples, 95), 3),
      calls: CALLS,
    };
  } finally {
    sm.destroy();
    await local.stop();
  }
}
