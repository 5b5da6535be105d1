// package-lock.json pins AWS SDK releases that support Node 20, so the SDK's
// notice about its future Node 22 requirement is noise for this CLI.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { buildProgram } from '../cli/program';

buildProgram()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    console.error(`rotor: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(process.exitCode && process.exitCode !== 0 ? process.exitCode : 1);
  });
