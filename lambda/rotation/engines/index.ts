import { engineFamily, type EngineName } from '../../core/database-secret';
import type { DatabaseEngine } from './engine';
import { PostgresEngine } from './postgres';

const postgres = new PostgresEngine();

/** The engine for a secret's `engine` field. MySQL and MariaDB arrive with their own file. */
export function engineFor(name: EngineName): DatabaseEngine | undefined {
  switch (engineFamily(name)) {
    case 'postgres':
      return postgres;
    default:
      return undefined;
  }
}
