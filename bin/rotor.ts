import { buildProgram } from '../cli/program';

buildProgram()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    console.error(`rotor: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(process.exitCode && process.exitCode !== 0 ? process.exitCode : 1);
  });
