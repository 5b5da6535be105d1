import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Match, Template } from 'aws-cdk-lib/assertions';

// rotor as an installed package: `npm pack` once, the tarball unpacked into a
// throwaway app's node_modules (aws-cdk-lib, constructs and the few runtime
// dependencies linked from this checkout: nothing is downloaded), then the app of
// docs/deploying.md ("Use rotor as a construct library") synthesized by node from
// the package alone: no TypeScript sources, no esbuild in its resolution path.
//
// The package is packed with --ignore-scripts: it packs the current build
// (`npm test` runs `npm run build` first; `npm pack` itself runs it as prepack).

const ROOT = path.join(__dirname, '../..');
const run = promisify(execFile);

/** The tarball may not grow past these without a decision (now about 2.8 MB packed, 11.2 MB unpacked: the Lambda bundles, the rotation function's side files, and their source maps). */
const MAX_TARBALL_BYTES = 4_000_000;
const MAX_UNPACKED_BYTES = 12_000_000;

/** What ships, path by path (package.json `files`, plus what npm always adds). */
const SHIPPED = [
  /^package\.json$/,
  /^README\.md$/,
  /^bin\/rotor\.js$/,
  /^dist\/cli\/rotor\.js$/,
  /^dist\/scripts\/bundle-options\.js$/,
  /^dist\/(rotation|trigger)\/index\.js(\.map)?$/,
  /^dist\/rotation\/(pg|mysql2|client-rds)\.js(\.map)?$/,
  /^dist\/(lib|client)\/[a-z-]+\.(js|d\.ts)$/,
];

/** The client's documented entry points and names (docs/applications.md, client/index.ts). */
const CLIENT_PG = ['PG_INVALID_PASSWORD', 'createPgClient', 'createPgPool', 'isPgAuthFailure', 'pgPoolConfig', 'rotationAwarePgClientClass'];
const CLIENT_MYSQL = ['MYSQL_ACCESS_DENIED', 'createMysqlConnection', 'createMysqlPool', 'isMysqlAuthFailure'];
const CLIENT = [
  'AWSCURRENT',
  'AWSPENDING',
  'CLIENT_TAG',
  'CredentialFormatError',
  'SecretCache',
  'SecretCacheError',
  'applicationNameOf',
  'connectWithRotation',
  'latePassword',
  'parseDatabaseCredential',
  ...CLIENT_PG,
  ...CLIENT_MYSQL,
].sort();

/** The app of docs/deploying.md: the ```js block after the package-example marker. */
function documentedApp(): string {
  const doc = readFileSync(path.join(ROOT, 'docs/deploying.md'), 'utf8');
  const marker = doc.indexOf('<!-- package-example:');
  expect(marker).toBeGreaterThan(0);
  const block = /```js\n([\s\S]*?)```/.exec(doc.slice(marker));
  expect(block).not.toBeNull();
  return block![1];
}

/** A TypeScript user of the package; type-checked against the shipped .d.ts through the `exports` map (node16 resolution). */
const TS_USER = `
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { addRotorRotation, DatabaseRotation, RotationFunction, RotorRotation, type RotorRotationProps } from 'rotor';
import { SecretCache, connectWithRotation } from 'rotor/client';
import { createPgPool } from 'rotor/client/pg';
import { createMysqlPool } from 'rotor/client/mysql';

const stack = new Stack(new App(), 'TypedApp');
const vpc = new ec2.Vpc(stack, 'Vpc');
const database = new rds.DatabaseInstance(stack, 'Database', { vpc, engine: rds.DatabaseInstanceEngine.POSTGRES });
const secret = new secretsmanager.Secret(stack, 'AppUser');
const props: RotorRotationProps = { database, secret, automaticallyAfter: Duration.days(7) };
const rotation: RotorRotation = RotorRotation.forDatabase(stack, 'Rotation', props);
const fn: RotationFunction = addRotorRotation(database, { secret, rotationFunction: rotation.rotationFunction }).rotationFunction;
const perSecret: DatabaseRotation = rotation.rotation;
// @ts-expect-error strategy is a closed union: the types are rotor's own, not any
addRotorRotation(database, { secret, strategy: 'multi-user' }, 'Wrong');
const cache = new SecretCache();
export const used = [fn, perSecret, cache, connectWithRotation, createPgPool, createMysqlPool];
`;

/**
 * Type-checks user.ts with the TypeScript of this checkout, twice: as a Node16 project (through
 * the `exports` map's "types") and as `cdk init` writes one (CommonJS, node10 resolution: through
 * "types" and `typesVersions`). Reports the diagnostics of user.ts and of every rotor .d.ts
 * (skipLibCheck off for them; aws-cdk-lib's own declarations are not re-checked). The second
 * program reuses the first one's parsed files.
 */
const TS_CHECK = `
const ts = require(${JSON.stringify(require.resolve('typescript'))});
const parsed = new Map();
const results = {};
for (const [name, module, moduleResolution] of [
  ['node16', ts.ModuleKind.Node16, ts.ModuleResolutionKind.Node16],
  ['node10', ts.ModuleKind.CommonJS, ts.ModuleResolutionKind.Node10],
]) {
  const options = { noEmit: true, strict: true, skipLibCheck: false, target: ts.ScriptTarget.ES2022, module, moduleResolution, types: ['node'] };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile;
  host.getSourceFile = (file, ...rest) => {
    if (!parsed.has(file)) parsed.set(file, getSourceFile(file, ...rest));
    return parsed.get(file);
  };
  const program = ts.createProgram(['user.ts'], options, host);
  const ours = program.getSourceFiles().filter((f) => f.fileName.includes('/node_modules/rotor/') || f.fileName.endsWith('/user.ts'));
  const diagnostics = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(),
    ...ours.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)])];
  const format = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\\n' };
  results[name] = {
    files: ours.map((f) => f.fileName.slice(f.fileName.indexOf('node_modules/rotor/') + 'node_modules/rotor/'.length)),
    errors: ts.formatDiagnostics(diagnostics, format),
  };
}
console.log(JSON.stringify(results));
`;

/** A trigger function from the package alone (its own outdir). */
const TRIGGER_APP = `
const { App, Stack } = require('aws-cdk-lib');
const { TriggerFunction } = require('rotor');
const app = new App({ outdir: process.argv[2] });
new TriggerFunction(new Stack(app, 'Trigger'), 'Trigger', { deploymentId: 'packed' });
app.synth();
`;

/** What an app sees through the `exports` map. */
const REQUIRES = `
const keys = (m) => Object.keys(require(m)).sort();
let deep;
try { require('rotor/dist/lib/rotor-stack.js'); deep = 'loaded'; } catch (e) { deep = e.code; }
console.log(JSON.stringify({
  root: keys('rotor'), client: keys('rotor/client'), pg: keys('rotor/client/pg'), mysql: keys('rotor/client/mysql'),
  version: require('rotor/package.json').version, deep,
  esbuild: (() => { try { require.resolve('esbuild', { paths: [require.resolve('rotor')] }); return 'found'; } catch { return 'absent'; } })(),
}));
`;

interface Packed {
  size: number;
  unpackedSize: number;
  filename: string;
  files: { path: string; size: number }[];
}

let tmp: string;
let app: string;
let packed: Packed;
let synth: { stdout: string; stderr: string };
let typecheck: Record<'node16' | 'node10', { files: string[]; errors: string }>;
let requires: { root: string[]; client: string[]; pg: string[]; mysql: string[]; version: string; deep: string; esbuild: string };
let cliVersion: string;

beforeAll(async () => {
  // Pack what the sources build to: a stale build would test yesterday's package.
  const built = path.join(ROOT, 'dist/lib/index.js');
  if (!existsSync(built) || !existsSync(path.join(ROOT, 'dist/rotation/index.js'))) throw new Error('no build in dist/: run `npm run build` first (npm test does).');
  const sources = ['lib', 'client'].flatMap((d) => readdirSync(path.join(ROOT, d)).filter((f) => f.endsWith('.ts')).map((f) => path.join(ROOT, d, f)));
  const stale = sources.filter((f) => statSync(f).mtimeMs > statSync(built).mtimeMs);
  if (stale.length > 0) throw new Error(`dist/lib is older than ${stale.map((f) => path.relative(ROOT, f)).join(', ')}: run \`npm run build\` first (npm test does).`);

  tmp = mkdtempSync(path.join(os.tmpdir(), 'rotor-pack-'));
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: ROOT, encoding: 'utf8' });
  if (pack.status !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
  packed = (JSON.parse(pack.stdout) as Packed[])[0];

  // The app: its package.json names the tarball; "installing" is unpacking it, and linking the peers.
  app = path.join(tmp, 'app');
  const modules = path.join(app, 'node_modules');
  mkdirSync(path.join(modules, 'rotor'), { recursive: true });
  mkdirSync(path.join(modules, '@types'));
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'packed-app', private: true, dependencies: { rotor: `file:../${packed.filename}` } }, null, 2));
  const untar = spawnSync('tar', ['-xzf', path.join(tmp, packed.filename), '-C', path.join(modules, 'rotor'), '--strip-components=1'], { encoding: 'utf8' });
  if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`);
  // Peers (aws-cdk-lib, constructs), the client's SDK, the CLI's commander, and for the TypeScript user the drivers' types.
  for (const name of ['aws-cdk-lib', 'constructs', '@aws-sdk', 'commander', 'pg', 'mysql2', '@types/node', '@types/pg']) {
    symlinkSync(path.join(ROOT, 'node_modules', name), path.join(modules, name), 'dir');
  }
  writeFileSync(path.join(app, 'app.js'), documentedApp());
  writeFileSync(path.join(app, 'user.ts'), TS_USER);
  writeFileSync(path.join(app, 'tscheck.js'), TS_CHECK);
  writeFileSync(path.join(app, 'requires.js'), REQUIRES);
  writeFileSync(path.join(app, 'trigger.js'), TRIGGER_APP);

  // One synth (as `cdk synth` runs an app: CDK_OUTDIR), the type check, the requires and the CLI, side by side.
  const node = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    run(process.execPath, args, { cwd: app, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }).catch((e: { stderr?: string; message: string }) => {
      // From the error on, without the echoed minified source lines.
      const lines = (e.stderr || e.message).split('\n').filter((l) => l.length < 400);
      const from = Math.max(0, lines.findIndex((l) => /Error|«/.test(l)));
      throw new Error(`node ${path.basename(args[0])} failed in the packed app:\n${lines.slice(from, from + 25).join('\n')}`);
    });
  const settled = await Promise.allSettled([
    node(['app.js'], { CDK_OUTDIR: path.join(app, 'cdk.out') }),
    node(['tscheck.js']),
    node(['requires.js']),
    node([path.join(modules, 'rotor/bin/rotor.js'), '--version']),
    node(['trigger.js', path.join(app, 'cdk.out.trigger')]),
  ]);
  const failed = settled.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
  const [s, t, r, c] = settled.map((o) => (o as PromiseFulfilledResult<{ stdout: string; stderr: string }>).value);
  synth = s;
  typecheck = JSON.parse(t.stdout);
  requires = JSON.parse(r.stdout);
  cliVersion = c.stdout.trim();
}, 240_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the tarball', () => {
  test('holds exactly the compiled library and client, the CLI and the Lambda bundles', () => {
    const files = packed.files.map((f) => f.path).sort();
    expect(files.filter((f) => !SHIPPED.some((re) => re.test(f)))).toEqual([]);
    expect(files.filter((f) => f.startsWith('test/') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);
    for (const required of [
      'bin/rotor.js',
      'dist/cli/rotor.js',
      'dist/rotation/index.js',
      'dist/rotation/pg.js',
      'dist/rotation/mysql2.js',
      'dist/rotation/client-rds.js',
      'dist/trigger/index.js',
      'dist/lib/index.js',
      'dist/lib/index.d.ts',
      'dist/lib/rotor-rotation.d.ts',
      'dist/client/index.d.ts',
      'dist/client/pg.js',
      'dist/client/mysql.js',
      'dist/scripts/bundle-options.js',
    ]) {
      expect(files).toContain(required);
    }
  });

  test(`stays under ${MAX_TARBALL_BYTES} bytes packed and ${MAX_UNPACKED_BYTES} unpacked`, () => {
    expect(packed.size).toBeLessThan(MAX_TARBALL_BYTES);
    expect(packed.unpackedSize).toBeLessThan(MAX_UNPACKED_BYTES);
  });

  test('carries no key material, credentials or local configuration', () => {
    const names = packed.files.map((f) => f.path);
    expect(names.filter((f) => /(^|\/)(\.env|\.npmrc|rotor\.config\.json|cdk\.context\.json|secrets\.json)$|\.(pem|key|p12|pfx)$/.test(f))).toEqual([]);
    const found: string[] = [];
    for (const name of names) {
      const text = readFileSync(path.join(app, 'node_modules/rotor', name), 'latin1');
      if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) found.push(`${name}: private key`);
      if (/\b(AKIA|ASIA)[0-9A-Z]{16}\b/.test(text)) found.push(`${name}: AWS access key id`);
    }
    expect(found).toEqual([]);
  });

  test('the .d.ts reference only shipped files and declared packages', () => {
    const declared = new Set(['aws-cdk-lib', 'constructs', '@aws-sdk/client-secrets-manager', 'pg', 'mysql2']);
    const bad: string[] = [];
    for (const name of packed.files.map((f) => f.path).filter((f) => f.endsWith('.d.ts'))) {
      const text = readFileSync(path.join(app, 'node_modules/rotor', name), 'utf8');
      for (const [, spec] of text.matchAll(/(?:from|import\()\s*'([^']+)'/g)) {
        if (spec.startsWith('.')) {
          const target = path.posix.join(path.posix.dirname(name), `${spec}.d.ts`);
          if (!packed.files.some((f) => f.path === target)) bad.push(`${name} -> ${spec}`);
        } else if (!declared.has(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0])) {
          bad.push(`${name} -> ${spec}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('an app using the installed package', () => {
  let template: Template;
  let raw: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  beforeAll(() => {
    raw = JSON.parse(readFileSync(path.join(app, 'cdk.out/AppDatabaseRotation.template.json'), 'utf8'));
    template = Template.fromJSON(raw);
  });

  test('synthesizes the documented rotation: schedule, function from the shipped bundle, database ingress on its port', () => {
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:orders/app-user-AbC123',
      RotationLambdaARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('RotorRotationFunction'), 'Arn'] },
      RotationRules: { ScheduleExpression: 'rate(7 days)' },
    });
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      VpcConfig: { SubnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-08172635445362718'], SecurityGroupIds: Match.anyValue() },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: 'sg-0a1b2c3d4e5f60718',
      IpProtocol: 'tcp',
      FromPort: 5432,
      ToPort: 5432,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('RotorRotationFunctionSecurityGroup'), 'GroupId'] },
    });
    // The imported Secrets Manager endpoint (an IInterfaceVpcEndpoint) admits the function on 443.
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { GroupId: 'sg-08172635445362718', FromPort: 443, ToPort: 443 });
    expect(synth.stderr).not.toMatch(/esbuild|docker/i);
  });

  test('the function code is the prebuilt bundle shipped in the package, byte for byte', () => {
    const fn = Object.values(raw.Resources).find((r) => r.Type === 'AWS::Lambda::Function')!;
    const key = (fn.Properties.Code as { S3Key: string }).S3Key;
    const asset = path.join(app, 'cdk.out', `asset.${key.replace(/\.zip$/, '')}`);
    // Every file of the build's bundle folder (a split bundle's side files too) reached the package and the asset.
    expect(readdirSync(asset).sort()).toEqual(readdirSync(path.join(ROOT, 'dist/rotation')).sort());
    expect(readFileSync(path.join(asset, 'index.js')).equals(readFileSync(path.join(app, 'node_modules/rotor/dist/rotation/index.js')))).toBe(true);
    expect(requires.esbuild).toBe('absent');
  });

  test('rotor, rotor/client, rotor/client/pg and rotor/client/mysql resolve and export the documented names; internals stay private', () => {
    expect(requires.root).toEqual(expect.arrayContaining(['RotorRotation', 'addRotorRotation', 'RotationFunction', 'DatabaseRotation', 'TriggerFunction', 'RotorStack']));
    expect(requires.client).toEqual(CLIENT);
    expect(requires.pg).toEqual(CLIENT_PG);
    expect(requires.mysql).toEqual(CLIENT_MYSQL);
    expect(requires.version).toBe(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    expect(requires.deep).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  test.each(['node16', 'node10'] as const)('the shipped .d.ts type-check a TypeScript user of all four entry points (%s resolution)', (resolution) => {
    expect(typecheck[resolution].errors).toBe('');
    expect(typecheck[resolution].files).toEqual(expect.arrayContaining(['dist/lib/index.d.ts', 'dist/lib/rotor-rotation.d.ts', 'dist/client/pg.d.ts', 'dist/client/mysql.d.ts']));
  });

  test('TriggerFunction from the package deploys the shipped trigger bundle as is (no esbuild, no lock file)', () => {
    const out = path.join(app, 'cdk.out.trigger');
    const template = JSON.parse(readFileSync(path.join(out, 'Trigger.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function')!;
    const asset = path.join(out, `asset.${(fn.Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '')}`);
    expect(readdirSync(asset).sort()).toEqual(readdirSync(path.join(ROOT, 'dist/trigger')).sort());
    expect(readFileSync(path.join(asset, 'index.js')).equals(readFileSync(path.join(app, 'node_modules/rotor/dist/trigger/index.js')))).toBe(true);
  });

  test('the rotor command runs the compiled CLI', () => {
    expect(cliVersion).toBe(requires.version);
  });
});
