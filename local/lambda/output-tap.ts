/**
 * An opt-in, process-wide view of the output of child-process rotation
 * functions: every stdout/stderr line of every child, as it arrives. Nothing
 * listens unless someone calls `tapFunctionOutput` (the test suite's leak
 * audit does); the invoker's own bounded buffer (`functionLogs`) is unchanged.
 */
export interface FunctionOutputLine {
  functionArn: string;
  stream: 'stdout' | 'stderr';
  line: string;
}

export type FunctionOutputTap = (line: FunctionOutputLine) => void;

const taps = new Set<FunctionOutputTap>();

/** Calls `tap` with every line any child-process function writes from now on; returns the function that removes it. */
export function tapFunctionOutput(tap: FunctionOutputTap): () => void {
  taps.add(tap);
  return () => {
    taps.delete(tap);
  };
}

/** For the invoker: hands a line to every tap (a throwing tap is ignored: it must not break an invocation). */
export function emitFunctionOutput(line: FunctionOutputLine): void {
  for (const tap of taps) {
    try {
      tap(line);
    } catch {
      // A tap is an observer only.
    }
  }
}
