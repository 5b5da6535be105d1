import { configurationError } from '../../core/errors';
import { AlternatingUsersStrategy } from './alternating-users';
import { RdsMasterStrategy } from './rds-master';
import { SingleUserStrategy } from './single-user';
import type { RotationStrategy } from './strategy';

export const STRATEGY_NAMES = ['single-user', 'alternating-users', 'rds-master'] as const;

export function strategyNamed(name: string | undefined): RotationStrategy {
  switch (name ?? 'single-user') {
    case 'single-user':
      return new SingleUserStrategy();
    case 'alternating-users':
      return new AlternatingUsersStrategy();
    case 'rds-master':
      return new RdsMasterStrategy();
    default:
      throw configurationError(
        `ROTOR_STRATEGY is "${name}", not one of ${STRATEGY_NAMES.join(', ')}`,
        'Set ROTOR_STRATEGY on the rotation function to a supported strategy.',
      );
  }
}
