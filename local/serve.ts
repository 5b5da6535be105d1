import { LocalSecretsManager } from './local-secrets-manager';

export interface ServeLocalOptions {
  port: number;
  host?: string;
  statePath?: string;
  region?: string;
  accountId?: string;
}

/**
 * `rotor local`: serves the endpoint until SIGINT or SIGTERM, then closes
 * cleanly (state file written, child processes stopped). Resolves after shutdown.
 */
export async function serveLocal(opts: ServeLocalOptions): Promise<void> {
  const local = await LocalSecretsManager.start({
    port: opts.port,
    host: opts.host,
    statePath: opts.statePath,
    region: opts.region,
    accountId: opts.accountId,
  });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`rotor local: Secrets Manager endpoint on ${local.endpoint} (region ${local.region}, account ${local.accountId})`);
  say(opts.statePath ? `  state file: ${opts.statePath}` : '  state: in memory only (use --state FILE to keep it)');
  say('  use it with:');
  say(`    export AWS_ENDPOINT_URL_SECRETS_MANAGER=${local.endpoint}`);
  say(`    aws secretsmanager list-secrets --endpoint-url ${local.endpoint} --region ${local.region}`);
  say('  any credentials work, but requests must be SigV4-signed (the AWS CLI and SDKs do that).');
  say(`  control routes: ${local.endpoint}/_rotor/health, /_rotor/events, /_rotor/faults`);
  say('  Ctrl-C to stop.');

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      say(`rotor local: ${signal}, shutting down...`);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await local.stop();
  say('rotor local: stopped.');
}
