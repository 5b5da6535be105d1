import { RotationError } from '../../lambda/core/errors';

/** The RotationError a promise rejects with; fails the test if it resolves or rejects with anything else. */
export async function rotationFailure(p: Promise<unknown>): Promise<RotationError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RotationError) return e;
    throw e;
  }
  throw new Error('expected a RotationError, but the call succeeded');
}

/** The error of class `type` a synchronous call throws; fails the test if it returns or throws anything else. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function thrownError<E extends Error>(type: new (...args: any[]) => E, f: () => unknown): E {
  try {
    f();
  } catch (e) {
    if (e instanceof type) return e;
    throw e;
  }
  throw new Error(`expected a ${type.name}, but the call succeeded`);
}

/** The RotationError a synchronous call throws; fails the test if it returns or throws anything else. */
export function thrownRotationError(f: () => unknown): RotationError {
  return thrownError(RotationError, f);
}
