import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalSecretsManager } from '../local';
import { median, percentile, round } from './stats';

const ROOT = path.resolve(__dirname, '..');
const RUNS = 21;
const COLD_RUNS = 3;
const SECRETS = 20;

/**
 * CLI start-up as an operator sees it: wall time of a new `node ...` process, RUNS times each,
 * median and p90 in ms. Compiled entry (dist/cli/rotor.js, what bin/rotor.js runs after
 * `npm run build`) against the TypeScript sources through tsx (ROTOR_FROM_SOURCE=1),
 * with tsx's compile cache warm and cold (a fresh TMPDIR each run: the first run after
 * install or a change). `status` runs against a local endpoint holding 20 managed secrets.
 * `node -e 0` is Node's own start on this machine, the floor.
 * Run alone: `npm run build && npx tsx bench/cli-start.bench.ts`.
 */
export async function run(): Promise<Record<string, unknown>> {
  // The compiled series runs dist/cli/rotor.js itself: bin/rotor.js would switch to the sources
  // as soon as any source is edited after the build (a shared checkout), which would blur the
  // figures. bin/rotor.js adds one JSON read and a stat per source (about 100) to it.
  const compiledJs = path.join(ROOT, 'dist', 'cli', 'rotor.js');
  if (!existsSync(compiledJs)) throw new Error('dist/cli/rotor.js is missing: run npm run build first');
  const local = await LocalSecretsManager.start({ port: 0 });
  const tmpRoots: string[] = [];
  try {
    for (let i = 0; i < SECRETS; i++) {
      local.seedSecret({ name: `bench/start/app-${i}`, secretString: '{"engine":"postgres"}', tags: [{ Key: 'rotor:managed-by', Value: 'bench' }] });
    }
    const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1' };
    const aws = { AWS_ENDPOINT_URL_SECRETS_MANAGER: local.endpoint, AWS_REGION: local.region, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' };
    const bin = path.join(ROOT, 'bin/rotor.js');
    const once = (args: string[], env: Record<string, string>) => new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      execFile(process.execPath, args, { env: { ...base, ...env }, maxBuffer: 16 * 1024 * 1024 }, (err) => {
        if (err && err.code !== 1) reject(err);
        else resolve(performance.now() - t0);
      });
    });
    const coldTmp = () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'rotor-bench-tsx-'));
      tmpRoots.push(dir);
      return { TMPDIR: dir };
    };
    const src = { ROTOR_FROM_SOURCE: '1' };
    interface Case { args: string[]; env?: Record<string, string>; fresh?: () => Record<string, string>; runs: number; ms: number[] }
    const cases: Record<string, Case> = {
      'nodeBaseline': { args: ['-e', '0'], runs: RUNS, ms: [] },
      'compiled.help': { args: [compiledJs, '--help'], runs: RUNS, ms: [] },
      'compiled.version': { args: [compiledJs, '--version'], runs: RUNS, ms: [] },
      'compiled.status': { args: [compiledJs, 'status', '--json'], env: aws, runs: RUNS, ms: [] },
      'sourceWarmCache.help': { args: [bin, '--help'], env: src, runs: RUNS, ms: [] },
      'sourceWarmCache.status': { args: [bin, 'status', '--json'], env: { ...aws, ...src }, runs: RUNS, ms: [] },
      'sourceColdCache.help': { args: [bin, '--help'], env: src, fresh: coldTmp, runs: COLD_RUNS, ms: [] },
      'sourceColdCache.status': { args: [bin, 'status', '--json'], env: { ...aws, ...src }, fresh: coldTmp, runs: COLD_RUNS, ms: [] },
    };
    // Round-robin: the machine is shared, so each round runs every case once and load
    // changes hit all of them alike.
    for (let r = 0; r < RUNS; r++) {
      for (const c of Object.values(cases)) {
        if (c.ms.length < c.runs) c.ms.push(await once(c.args, { ...(c.env ?? {}), ...(c.fresh ? c.fresh() : {}) }));
      }
    }
    const figures: Record<string, Record<string, unknown>> = {};
    for (const [name, c] of Object.entries(cases)) {
      const [group, key] = name.includes('.') ? name.split('.') : [name, ''];
      const f = { medianMs: round(median(c.ms), 0), p90Ms: round(percentile(c.ms, 90), 0), minMs: round(Math.min(...c.ms), 0), runs: c.runs };
      if (key) (figures[group] ??= {})[key] = f;
      else figures[group] = f;
    }
    return {
      ...figures,
      secretsListedByStatus: SECRETS,
    };
  } finally {
    await local.stop();
    for (const d of tmpRoots) rmSync(d, { recursive: true, force: true });
  }
}

if (require.main === module) {
  run().then((f) => console.log(JSON.stringify(f, null, 2)), (e) => {
    console.error(e);
    process.exit(1);
  });
}
