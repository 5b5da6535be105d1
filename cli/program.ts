import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { TagFilter } from '../lambda/trigger/events';

function port(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535.');
  return n;
}

function intIn(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^[0-9]+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`an integer from ${min} to ${max}.`);
    return n;
  };
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number.');
  return n;
}

function tag(value: string, previous?: TagFilter[]): TagFilter[] {
  const { collectTag } = require('./lib/output') as typeof import('./lib/output');
  return collectTag(value, previous);
}

/** --region / --profile / --endpoint-url on every command that talks to Secrets Manager. */
function withAws(cmd: Command): Command {
  return cmd
    .option('--region <region>', 'AWS Region (default: the SDK\'s chain: AWS_REGION, profile)')
    .option('--profile <name>', 'shared config/credentials profile (default: the SDK\'s credential chain)')
    .option('--endpoint-url <url>', 'Secrets Manager endpoint, e.g. the local stack (default: AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL); CloudTrail: AWS_ENDPOINT_URL_CLOUDTRAIL, else this one when it is a loopback address');
}

/** Exit codes: 0 ok, 1 a check or rotation failed, 2 a usage error (bad option or argument, unknown command). */
export const EXIT_USAGE = 2;

/**
 * Commander's own failures (unknown option, missing or invalid argument,
 * `rotor` without a command) exit 2; --help and --version exit 0.
 */
function usageExit(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
}

/**
 * The operator CLI. Each command's code is loaded only when it runs, to keep
 * `--help` fast (require, not import(): bin/rotor.js hooks tsx into require only).
 */
export function buildProgram(): Command {
  const program = new Command('rotor')
    .description('Rotate database credentials with AWS Secrets Manager: local stack, demo and operator commands')
    .version((require('../package.json') as { version: string }).version, '-V, --version', 'print the rotor version')
    .showHelpAfterError()
    .exitOverride(usageExit);

  program
    .command('local')
    .description('Serve a Secrets Manager-compatible endpoint on 127.0.0.1 (for --endpoint-url / AWS_ENDPOINT_URL_SECRETS_MANAGER)')
    .option('-p, --port <port>', 'port to listen on (0 = any free port)', port, 4566)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--state <file>', 'persist state as JSON in this file (written atomically)')
    .option('--region <region>', 'region in ARNs', 'us-east-1')
    .option('--account-id <id>', 'account id in ARNs', '000000000000')
    .option('--rotation-function <bundle>', 'run this rotation function bundle (e.g. dist/rotation/index.js from npm run build) for RotateSecret; its ARN is printed at start')
    .option('--function-name <name>', 'function name in the rotation function\'s ARN', (v: string) => {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(v)) throw new InvalidArgumentError('a Lambda function name: 1-64 letters, digits, - or _.');
      return v;
    }, 'rotor-rotation')
    .option('--function-env <KEY=VALUE>', 'environment variable of the rotation function, as set on the Lambda function (repeatable), e.g. ROTOR_TLS_MODE=disable', (v: string, prev: Record<string, string> = {}) => {
      const m = /^([A-Za-z][A-Za-z0-9_]*)=(.*)$/s.exec(v);
      if (!m) throw new InvalidArgumentError('KEY=VALUE, KEY made of letters, digits and _.');
      return { ...prev, [m[1]]: m[2] };
    })
    .option('--rds-port <port>', 'also serve the local RDS endpoint on this port (0 = any free port); the rotation function gets AWS_ENDPOINT_URL_RDS', port)
    .option('--rds-instance <id=postgres://master@host:port>', 'a PostgreSQL DB instance of the RDS endpoint (repeatable), e.g. app-db=postgres://app_master@localhost:5432', (v: string, prev: string[] = []) => [...prev, v])
    .action(async (opts: { port: number; host: string; state?: string; region: string; accountId: string; rotationFunction?: string; functionName: string; functionEnv?: Record<string, string>; rdsPort?: number; rdsInstance?: string[] }, cmd: Command) => {
      if (!opts.rotationFunction && (opts.functionEnv || cmd.getOptionValueSource('functionName') === 'cli')) {
        cmd.error('error: --function-name and --function-env need --rotation-function <bundle>', { exitCode: EXIT_USAGE, code: 'rotor.noFunction' });
      }
      if (opts.rdsInstance && opts.rdsPort === undefined) {
        cmd.error('error: --rds-instance needs --rds-port <port>', { exitCode: EXIT_USAGE, code: 'rotor.noRdsPort' });
      }
      const { serveLocal, parseRdsInstance } = require('../local/serve') as typeof import('../local/serve');
      let instances: ReturnType<typeof parseRdsInstance>[] = [];
      try {
        instances = (opts.rdsInstance ?? []).map(parseRdsInstance);
      } catch (e) {
        cmd.error(`error: --rds-instance: ${(e as Error).message}`, { exitCode: EXIT_USAGE, code: 'rotor.badRdsInstance' });
      }
      await serveLocal({
        port: opts.port,
        host: opts.host,
        statePath: opts.state,
        region: opts.region,
        accountId: opts.accountId,
        rotationFunction: opts.rotationFunction ? { bundlePath: opts.rotationFunction, name: opts.functionName, env: opts.functionEnv } : undefined,
        rds: opts.rdsPort !== undefined ? { port: opts.rdsPort, instances } : undefined,
      });
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

  withAws(program
    .command('status')
    .description('One row per managed secret (tag rotor:managed-by): engine, strategy, owner, rotation dates and state (failed rotations from CloudTrail); --all: every secret with Security Hub\'s controls; exit 1 when any is overdue, stuck or failed, or a control fails')
    .option('--tag <key=value>', 'only secrets with this tag (repeatable: keys AND\'ed, one key\'s values OR\'ed)', tag)
    .option('--overdue', 'only secrets whose next rotation date has passed')
    .option('--owner-tag <key>', 'tag that names the owner', 'owner')
    .option('--all', 'inventory: every secret in the account and Region, whatever its rotation state, with Security Hub\'s SecretsManager.1-.4 controls; exit 1 when a control fails')
    .option('--unused-days <days>', 'with --all: SecretsManager.3 fails for a secret not accessed for more than this many days', intIn(1, 36_500), 90)
    .option('--max-age-days <days>', 'with --all: SecretsManager.4 fails for a secret not rotated for more than this many days', intIn(1, 36_500), 90)
    .option('--values', 'fill engine/strategy of secrets without rotor:engine / rotor:strategy tags from their values (BatchGetSecretValue; values are never printed)')
    .option('--stuck-after <minutes>', 'AWSPENDING older than this is stuck, younger is rotating', intIn(1, 100_000), 60)
    .option('--json', 'print JSON'))
    .action(async (opts: import('./commands/status').StatusOptions) => {
      const { runStatus } = require('./commands/status') as typeof import('./commands/status');
      process.exitCode = await runStatus(opts);
    });

  withAws(program
    .command('history')
    .description('A secret\'s rotation events (started, succeeded, failed, abandoned, tests) from CloudTrail LookupEvents, last 90 days; exit 1 when the latest outcome is a failure')
    .argument('<secret>', 'secret name or ARN (the full ARN for a deleted secret)')
    .option('--days <days>', 'how far back (CloudTrail keeps 90 days of management events)', intIn(1, 90), 90)
    .option('--json', 'print JSON'))
    .action(async (secret: string, opts: Omit<import('./commands/history').HistoryOptions, 'secret'>) => {
      const { runHistory } = require('./commands/history') as typeof import('./commands/history');
      process.exitCode = await runHistory({ ...opts, secret });
    });

  withAws(program
    .command('rotate')
    .description('Start rotations now (the trigger\'s skip rules, idempotent tokens and rate limit); --wait follows them to the end; exit 1 when any failed')
    .argument('[secret...]', 'secret names or ARNs')
    .option('--tag <key=value>', 'also every secret with this tag (repeatable: keys AND\'ed, one key\'s values OR\'ed)', tag)
    .option('--deployment-id <id>', 'only secrets tagged rotor:managed-by = this (default: ROTOR_DEPLOYMENT_ID, else any rotor-managed secret)')
    .option('--request-id <id>', 'idempotency key: the same id again starts nothing twice (default: a new one, printed)')
    .option('--wait', 'wait until each rotation finished (AWSCURRENT on the new version) or --timeout')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this long', positiveNumber, 600)
    .option('--concurrency <n>', 'secrets handled at once', intIn(1, 64), 8)
    .option('--max-tps <n>', 'RotateSecret calls per second (account quota: 50)', positiveNumber, 48)
    .option('--json', 'print JSON'))
    .action(async (secrets: string[], opts: Omit<import('./commands/rotate').RotateOptions, 'secrets'>, cmd: Command) => {
      if (secrets.length === 0 && !opts.tag?.length) cmd.error('error: name at least one secret or --tag key=value', { exitCode: EXIT_USAGE, code: 'rotor.noTarget' });
      const { runRotate } = require('./commands/rotate') as typeof import('./commands/rotate');
      process.exitCode = await runRotate({ ...opts, deploymentId: opts.deploymentId ?? process.env.ROTOR_DEPLOYMENT_ID, secrets });
    });

  withAws(program
    .command('doctor')
    .description('Check one secret end to end: value, rotation, versions, DNS/TCP, TLS, login and privileges; each failure with its fix; exit 1 when any check failed')
    .argument('<secret>', 'secret name or ARN')
    .option('--ca-file <file>', 'PEM bundle to verify the database certificate (default: ROTOR_TLS_CA_FILE, else Node\'s trust store)')
    .addOption(new Option('--tls-mode <mode>', 'the TLS floor, as the function applies it: the mode when a secret has no "ssl" field and the least any login uses (default: ROTOR_TLS_MODE, else verify-full)').choices(['verify-full', 'require', 'disable']))
    .addOption(new Option('--strategy <strategy>', 'rotation strategy (default: tag rotor:strategy, else alternating-users when the secret has masterarn, else single-user)').choices(['single-user', 'alternating-users', 'rds-master']))
    .option('--timeout <ms>', 'network and database timeout', intIn(100, 120_000), 5000)
    .option('--json', 'print JSON'))
    .action(async (secret: string, opts: Omit<import('./commands/doctor').DoctorOptions, 'secret'>) => {
      const { runDoctor } = require('./commands/doctor') as typeof import('./commands/doctor');
      process.exitCode = await runDoctor({ ...opts, secret });
    });

  withAws(program
    .command('usage')
    .description('Who uses this credential now: sessions per user, application and client address, the secret\'s last access, and (alternating users) whether anything not rotation-aware uses the user the next rotation changes (exit 1 then)')
    .argument('<secret>', 'secret name or ARN')
    .option('--as <secret>', 'secret whose credential reads the sessions (default: the secret\'s masterarn, else the secret itself)')
    .option('--ca-file <file>', 'PEM bundle to verify the database certificate (default: ROTOR_TLS_CA_FILE, else Node\'s trust store)')
    .addOption(new Option('--tls-mode <mode>', 'the TLS floor, as the function applies it: the mode when a secret has no "ssl" field and the least any login uses (default: ROTOR_TLS_MODE, else verify-full)').choices(['verify-full', 'require', 'disable']))
    .option('--timeout <ms>', 'network and database timeout', intIn(100, 120_000), 5000)
    .option('--json', 'print JSON'))
    .action(async (secret: string, opts: Omit<import('./commands/usage').UsageOptions, 'secret'>) => {
      const { runUsage } = require('./commands/usage') as typeof import('./commands/usage');
      process.exitCode = await runUsage({ ...opts, secret });
    });

  return program;
}
