// package-lock.json pins AWS SDK releases that support Node 20, so the SDK's
// notice about its future Node 22 requirement is noise for this CLI.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { buildProgram } from '../cli/program';

/** --region / --profile as given on the command line, for the error hint. */
function argOf(name: string): string | undefined {
  const argv = process.argv;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === name) return argv[i + 1];
    if (argv[i].startsWith(`${name}=`)) return argv[i].slice(name.length + 1);
  }
  return undefined;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    // Loaded only on error: cli/lib/aws loads the AWS SDK, which --help does not need.
    const { explainAwsError } = require('../cli/lib/aws') as typeof import('../cli/lib/aws');
    const hint = explainAwsError(e, { region: argOf('--region'), profile: argOf('--profile') });
    console.error(`rotor: ${hint ?? (e instanceof Error ? e.message : String(e))}`);
    process.exit(process.exitCode && process.exitCode !== 0 ? process.exitCode : 1);
  });
