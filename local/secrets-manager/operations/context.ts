import type { Paginator } from '../pagination';
import type { RotationDriver } from '../rotation-driver';
import type { SecretStore } from '../store';

/** What an operation handler works with. Handlers are synchronous: validate everything, then mutate. */
export interface OperationContext {
  store: SecretStore;
  paginator: Paginator;
  rotations: RotationDriver;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OperationHandler = (input: any, ctx: OperationContext) => Record<string, unknown>;

/** The JSON protocol sends timestamps as epoch seconds. */
export function epochSeconds(ms: number): number {
  return ms / 1000;
}

/** Drops undefined members, so responses carry only the fields that have values. */
export function compact<T extends Record<string, unknown>>(o: T): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
