import { engineFamily, type EngineName } from '../../core/database-secret';
import type { DatabaseEngine } from './engine';

let postgres: DatabaseEngine | undefined;
let mysql: DatabaseEngine | undefined;

/**
 * The engine for a secret's `engine` field. Each engine (and its driver) is
 * loaded on first use, so a function rotating PostgreSQL never evaluates
 * mysql2 at cold start, and vice versa (esbuild keeps require() lazy).
 */
export function engineFor(name: EngineName): DatabaseEngine {
  if (engineFamily(name) === 'postgres') {
    return (postgres ??= new (require('./postgres') as typeof import('./postgres')).PostgresEngine());
  }
  return (mysql ??= new (require('./mysql') as typeof import('./mysql')).MysqlEngine());
}
