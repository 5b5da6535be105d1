import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildCli } from '../../scripts/build-bundles';
import { ROOT, rotor, startCliStack, type CliResult, type CliStack } from './cli-kit';

/**
 * CLI start-up: the compiled entry (no TypeScript compilation at start), --version, and errors
 * that say what to set. Start-up time is measured by bench/cli-start.bench.ts, not asserted here.
 */
const { compiledIsCurrent } = require('../../bin/rotor.js') as { compiledIsCurrent: (dir: string, env?: NodeJS.ProcessEnv) => boolean };
const version = (require('../../package.json') as { version: string }).version;
let outDir: string;
let stack: CliStack;
let home: string;

function node(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: 40_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NO_COLOR: '1', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  // A fresh build of the CLI bundle, beside dist/ (same depth), so this test never depends on
  // (or races with) the one npm run build wrote.
  mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
  outDir = mkdtempSync(path.join(ROOT, '.tmp', 'cli-start-'));
  await buildCli(path.join(outDir, 'rotor.js'), true);
  stack = await startCliStack({});
  home = mkdtempSync(path.join(os.tmpdir(), 'rotor-home-'));
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(outDir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

const noTsx = path.join(__dirname, 'fixtures/no-tsx.cjs');

test('the compiled entry runs --help, --version and status against the local endpoint without loading tsx or any .ts file', async () => {
  const bundle = path.join(outDir, 'rotor.js');
  const [help, ver, status] = await Promise.all([
    node(['-r', noTsx, bundle, '--help'], {}),
    node(['-r', noTsx, bundle, '--version'], {}),
    node(['-r', noTsx, bundle, 'status', '--json'], stack.env),
  ]);
  expect(help.stderr).toBe('');
  expect(help.stdout).toMatch(/Usage: rotor/);
  expect(help.stdout).toMatch(/history/);
  expect(help.code).toBe(0);
  expect(ver.stdout.trim()).toBe(version);
  expect(status.stderr).toBe('');
  expect(JSON.parse(status.stdout).summary.total).toBe(0);
  expect(status.code).toBe(0);
  // The fixture does catch a source start.
  const src = await node(['-r', noTsx, path.join(ROOT, 'bin/rotor.js'), '--version'], { ROTOR_FROM_SOURCE: '1' });
  expect(src.code).not.toBe(0);
  expect(src.stderr).toMatch(/no-tsx: tsx/);
});

test('bin/rotor.js runs the build only while it is current: no build, a source changed after it, or ROTOR_FROM_SOURCE=1 mean the sources (tsx)', () => {
  expect(compiledIsCurrent(outDir, {})).toBe(true);
  expect(compiledIsCurrent(outDir, { ROTOR_FROM_SOURCE: '1' })).toBe(false);
  expect(compiledIsCurrent(path.join(outDir, 'nothing-here'), {})).toBe(false);
  const stale = mkdtempSync(path.join(ROOT, '.tmp', 'cli-stale-'));
  try {
    writeFileSync(path.join(stale, 'rotor.js'), '');
    writeFileSync(path.join(stale, 'inputs.json'), JSON.stringify({ builtAt: 0, inputs: ['cli/program.ts'] }));
    expect(compiledIsCurrent(stale, {})).toBe(false);
    // Sources not shipped (an installed package): the build is all there is.
    writeFileSync(path.join(stale, 'inputs.json'), JSON.stringify({ builtAt: 0, inputs: ['not/shipped.ts'] }));
    expect(compiledIsCurrent(stale, {})).toBe(true);
  } finally {
    rmSync(stale, { recursive: true, force: true });
  }
});

test('rotor --version / -V print the package version; from the sources too', async () => {
  const [long, short, src] = await Promise.all([rotor(['--version']), rotor(['-V']), rotor(['--version'], { ROTOR_FROM_SOURCE: '1' })]);
  for (const r of [long, short, src]) {
    expect(r.stdout.trim()).toBe(version);
    expect(r.code).toBe(0);
  }
});

/** No credentials anywhere: no variables, no config files, no instance metadata. */
function bare(extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOME: home, AWS_CONFIG_FILE: path.join(home, 'none-config'), AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true', ...extra,
  };
}

test('missing credentials, unknown profile, missing Region, wrong Region: the error says what to set (exit 1)', async () => {
  const [noCreds, noProfile, noRegion, wrongRegion, historyNoCreds, rotateNoCreds, rotateNoRegion] = await Promise.all([
    rotor(['status'], bare({ AWS_REGION: 'eu-west-1' })),
    rotor(['status', '--profile', 'nosuch', '--region', 'eu-west-1'], bare()),
    rotor(['status'], bare({ AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' })),
    rotor(['status'], { ...stack.env, AWS_REGION: 'eu-west-1' }),
    rotor(['history', 'prod/app'], bare({ AWS_REGION: 'eu-west-1' })),
    // rotate reports per-secret failures; it checks Region and credentials first.
    rotor(['rotate', 'prod/app', '--json'], bare({ AWS_REGION: 'eu-west-1' })),
    rotor(['rotate', 'prod/app'], bare({ AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' })),
  ]);
  for (const r of [noCreds, noProfile, historyNoCreds, rotateNoCreds]) {
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rotor: no usable AWS credentials.*Set AWS_PROFILE or pass --profile NAME.*AWS_ACCESS_KEY_ID/);
  }
  expect(noProfile.stderr).toMatch(/for profile nosuch/);
  expect(rotateNoCreds.stdout).toBe('');
  for (const r of [noRegion, rotateNoRegion]) {
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rotor: no AWS Region configured\. Set AWS_REGION .* or pass --region REGION/);
  }
  expect(noRegion.stderr).toMatch(/^rotor: no AWS Region configured\. Set AWS_REGION .* or pass --region REGION/);
  expect(wrongRegion.code).toBe(1);
  expect(wrongRegion.stderr).toMatch(/^rotor: the request was signed for Region "eu-west-1", which the endpoint does not serve .*Set AWS_REGION or pass --region/);
});

test('AWS_DEFAULT_REGION alone (what AWS CLI v1 users set) is the Region, as for the AWS CLI', async () => {
  const { AWS_REGION: _unused, ...withoutRegion } = stack.env;
  const [same, other] = await Promise.all([
    rotor(['status'], { ...withoutRegion, AWS_DEFAULT_REGION: stack.env.AWS_REGION }),
    rotor(['status'], { ...withoutRegion, AWS_DEFAULT_REGION: 'eu-west-1' }),
  ]);
  expect(same.code).toBe(0);
  expect(same.stderr).toBe('');
  // Used, not ignored: the local endpoint (us-east-1) refuses a request signed for eu-west-1.
  expect(other.code).toBe(1);
  expect(other.stderr).toMatch(/^rotor: the request was signed for Region "eu-west-1"/);
});
