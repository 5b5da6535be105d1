import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Runs the benchmarks and writes each one's figures to bench/results/<name>.json.
 * Figures are recorded, not asserted: targets are compared in the closing
 * notes and docs, never in tests (shared machines are noisy).
 * `npm run bench -- rotation` runs only the named benchmarks.
 */
const BENCHES: Record<string, () => Promise<{ run: () => Promise<Record<string, unknown>> }>> = {
  endpoint: () => import('./endpoint.bench'),
  rotation: () => import('./rotation.bench'),
  trigger: () => import('./trigger.bench'),
  status: () => import('./status.bench'),
  'cli-start': () => import('./cli-start.bench'),
  'rotation-under-load': () => import('./rotation-under-load.bench'),
  'rotation-latency': () => import('./rotation-latency.bench'),
  'cold-start': () => import('./cold-start.bench'),
  'alternate-sync': () => import('./alternate-sync.bench'),
};

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !(n in BENCHES));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}\n`);
    process.exit(2);
  }
  const outDir = path.join(__dirname, 'results');
  mkdirSync(outDir, { recursive: true });
  let failed = 0;
  for (const [name, load] of Object.entries(BENCHES)) {
    if (only.length > 0 && !only.includes(name)) continue;
    process.stdout.write(`bench ${name}...\n`);
    try {
      const figures = await (await load()).run();
      const record = {
        bench: name,
        date: new Date().toISOString(),
        machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
        figures,
      };
      writeFileSync(path.join(outDir, `${name}.json`), `${JSON.stringify(record, null, 2)}\n`);
      process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
    } catch (e) {
      failed++;
      process.stderr.write(`bench ${name} failed: ${(e as Error)?.stack ?? String(e)}\n`);
    }
  }
  process.exit(failed ? 1 : 0);
}

void main();
