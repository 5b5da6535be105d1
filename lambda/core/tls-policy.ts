import type { TlsMode } from './database-secret';
import { configurationError } from './errors';

const RANK: Record<TlsMode, number> = { disable: 0, require: 1, 'verify-full': 2 };

/** The stronger of two TLS modes; an undefined one asks for nothing. */
export function strongerTls(a: TlsMode | undefined, b: TlsMode | undefined): TlsMode | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * The TLS mode of a login (DESIGN invariant 5): what the secret asks for,
 * else the deployment's floor (ROTOR_TLS_MODE). A secret may raise the floor
 * but not lower it; asking for less is refused, never silently obeyed or
 * silently raised (the operator must see that the secret is wrong).
 */
export function effectiveTlsMode(requested: TlsMode | undefined, floor: TlsMode, whose = 'the secret'): TlsMode {
  if (requested === undefined) return floor;
  if (RANK[requested] < RANK[floor]) {
    throw configurationError(
      `${whose} asks for TLS mode "${requested}" (its "ssl" field), below this deployment's floor "${floor}" (ROTOR_TLS_MODE)`,
      `Set "ssl" in ${whose} to "${floor}" or remove it; only if this database cannot do TLS, lower the floor (ROTOR_TLS_MODE, rotationFunction.tlsMode in rotor.config.json). Nothing was changed.`,
      'TlsBelowFloor',
    );
  }
  return requested;
}
