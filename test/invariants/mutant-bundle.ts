import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { BUNDLE_OPTIONS, LAMBDA_ENTRIES, ROOT } from '../../scripts/bundle-options';

/**
 * A planted bug: in `file` (repository-relative), `find` must occur exactly
 * once and is replaced by `replace`. A `find` that no longer matches (the
 * source moved on) is an error, never a silently unmutated bundle.
 */
export interface Mutation {
  file: string;
  find: string;
  replace: string;
}

export interface BundleBuild {
  entry: keyof typeof LAMBDA_ENTRIES;
  outfile: string;
  /**
   * Where the sources of lambda/ come from: the last commit (`HEAD`, the
   * default: others' unfinished edits in the working tree do not leak into a
   * proof) or the working tree.
   */
  base?: 'HEAD' | 'worktree';
  mutations?: Mutation[];
}

const LAMBDA_DIR = path.join(ROOT, 'lambda') + path.sep;

function committed(rel: string): string | undefined {
  try {
    return execFileSync('git', ['show', `HEAD:${rel}`], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 16 * 1024 * 1024 });
  } catch {
    return undefined;
  }
}

/**
 * Builds a Lambda bundle exactly as `npm run build` does (the same esbuild
 * options, scripts/bundle-options.ts), but into `outfile` and with the
 * mutations applied in memory: no shared file (lambda/, dist/) is touched.
 * Tests read the bundle to run from ROTOR_TEST_ROTATION_BUNDLE /
 * ROTOR_TEST_TRIGGER_BUNDLE (test/invariants/invariant-kit.ts).
 */
export async function buildBundle(opts: BundleBuild): Promise<string> {
  const base = opts.base ?? 'HEAD';
  const pending = new Map((opts.mutations ?? []).map((m) => [path.join(ROOT, m.file), [] as Mutation[]]));
  for (const m of opts.mutations ?? []) pending.get(path.join(ROOT, m.file))!.push(m);
  const applied = new Set<string>();
  const plugin: Plugin = {
    name: 'rotor-mutant',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (!args.path.startsWith(LAMBDA_DIR)) return undefined;
        const rel = path.relative(ROOT, args.path).split(path.sep).join('/');
        let text = (base === 'HEAD' ? committed(rel) : undefined) ?? readFileSync(args.path, 'utf8');
        for (const m of pending.get(args.path) ?? []) {
          const count = text.split(m.find).length - 1;
          if (count !== 1) throw new Error(`mutation of ${m.file}: expected exactly one occurrence of ${JSON.stringify(m.find)}, found ${count}`);
          text = text.replace(m.find, () => m.replace);
          applied.add(`${m.file}\0${m.find}`);
        }
        return { contents: text, loader: 'ts' };
      });
    },
  };
  await build({ ...BUNDLE_OPTIONS, entryPoints: [LAMBDA_ENTRIES[opts.entry]], outfile: opts.outfile, plugins: [plugin], logLevel: 'error' });
  for (const m of opts.mutations ?? []) {
    if (!applied.has(`${m.file}\0${m.find}`)) throw new Error(`mutation of ${m.file} was not applied: the ${opts.entry} bundle does not include that file`);
  }
  if (!existsSync(opts.outfile)) throw new Error(`esbuild wrote no ${opts.outfile}`);
  return opts.outfile;
}
