import { Command, InvalidArgumentError, Option } from 'commander';

function port(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535.');
  return n;
}

/**
 * The operator CLI. Each command's code is loaded only when it runs, to keep
 * `--help` fast (require, not import(): bin/rotor.js hooks tsx into require only).
 */
export function buildProgram(): Command {
  const program = new Command('rotor')
    .description('Rotate database credentials with AWS Secrets Manager: local stack, demo and operator commands')
    .showHelpAfterError();

  program
    .command('local')
    .description('Serve a Secrets Manager-compatible endpoint on 127.0.0.1 (for --endpoint-url / AWS_ENDPOINT_URL_SECRETS_MANAGER)')
    .option('-p, --port <port>', 'port to listen on (0 = any free port)', port, 4566)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--state <file>', 'persist state as JSON in this file (written atomically)')
    .option('--region <region>', 'region in ARNs', 'us-east-1')
    .option('--account-id <id>', 'account id in ARNs', '000000000000')
    .action(async (opts: { port: number; host: string; state?: string; region: string; accountId: string }) => {
      const { serveLocal } = require('../local/serve') as typeof import('../local/serve');
      await serveLocal({ port: opts.port, host: opts.host, statePath: opts.state, region: opts.region, accountId: opts.accountId });
    });

  program
    .command('demo')
    .description('Rotate a database password end to end on this machine (throwaway database + local endpoint + the bundled function)')
    .addOption(new Option('--engine <engine>', 'database engine').choices(['postgres', 'mariadb']).default('postgres'))
    .addOption(new Option('--strategy <strategy>', 'rotation strategy').choices(['single-user', 'alternating-users']).default('single-user'))
    .option('--keep', 'leave the database and endpoint running until Ctrl-C')
    .action(async (opts: { engine: 'postgres' | 'mariadb'; strategy: 'single-user' | 'alternating-users'; keep?: boolean }) => {
      const { runDemo } = require('./commands/demo') as typeof import('./commands/demo');
      process.exitCode = await runDemo({ engine: opts.engine, strategy: opts.strategy, keep: Boolean(opts.keep) });
    });

  return program;
}
