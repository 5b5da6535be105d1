import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/**
 * The rotation bundle as shipped (scripts/build-rotation.ts): index.js with pg, mysql2 and the RDS
 * client in side files beside it. Run from a copy of the folder outside the repository, in a fresh
 * Node process, so that nothing can be resolved from the repository's node_modules (Lambda has
 * only the folder). The rotations with the bundle (postgres-rotation, mariadb-rotation, and the
 * rds-master invariants in test/invariants/rotation-invariants.test.ts)
 * prove the side files load where they are needed; this proves what loads when.
 */
const BUILT = path.resolve(__dirname, '../../dist/rotation');
const bundleTest = existsSync(path.join(BUILT, 'index.js')) ? test : test.skip;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rotor-bundle-files-'));
  cpSync(BUILT, dir, { recursive: true });
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs `code` in a fresh node process in the copy; returns its JSON output. */
function inCopy(code: string): unknown {
  return JSON.parse(execFileSync(process.execPath, ['-e', code], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, AWS_REGION: 'eu-central-1' } }));
}

bundleTest('the folder holds index.js and the three side files, each with its source map, and nothing else', () => {
  expect(readdirSync(dir).sort()).toEqual(['client-rds.js', 'client-rds.js.map', 'index.js', 'index.js.map', 'mysql2.js', 'mysql2.js.map', 'pg.js', 'pg.js.map']);
});

bundleTest('loading index.js (a cold start) reads no side file and nothing outside the folder', () => {
  const loaded = inCopy(`const h = require('./index.js').handler; console.log(JSON.stringify({ handler: typeof h, files: Object.keys(require.cache).map((f) => require('node:path').relative(process.cwd(), f)) }))`);
  expect(loaded).toEqual({ handler: 'function', files: ['index.js'] });
});

bundleTest('each side file is self-contained: it loads from the folder alone and exports its package', () => {
  const loaded = inCopy(`
    const pg = require('./pg.js'); const mysql = require('./mysql2.js'); const rds = require('./client-rds.js');
    console.log(JSON.stringify({
      pg: typeof pg.Client, mysql: typeof mysql.createConnection, rds: typeof rds.RDSClient + ' ' + typeof rds.DescribeDBInstancesCommand,
      outside: Object.keys(require.cache).filter((f) => !f.startsWith(process.cwd() + require('node:path').sep)),
    }))`);
  expect(loaded).toEqual({ pg: 'function', mysql: 'function', rds: 'function function', outside: [] });
});
